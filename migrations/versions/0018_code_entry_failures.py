"""code_entry_failures: the wrong pickup codes the code-entry lock counts, apart from the audit
trail's good lookups (the lock read every lookup of the deployment in its window); the last
two hours of wrong codes are copied from the audit trail so a lock running at the upgrade holds

Revision ID: 0018_code_entry_failures
Revises: 0017_line_refunds
Create Date: 2026-12-07 20:30:00.000000

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_code_entry_failures'
down_revision = '0017_line_refunds'
branch_labels = None
depends_on = None

# What counter_lock counted from the audit trail before this revision, spelled out here: a
# revision must not change when the app's code does.
COUNTED_ACTIONS = ('code_lookup', 'redeem_refused')
FAILED_OUTCOMES = ('invalid_code', 'void', 'bad_signature', 'wrong_point', 'wrong_proof', 'no_proof')
BACKFILL = timedelta(hours=2)


def upgrade():
    failures = op.create_table(
        'code_entry_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=60), nullable=False),
        sa.Column('pickup_point_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=30), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_code_entry_failures')),
    )
    with op.batch_alter_table('code_entry_failures', schema=None) as batch_op:
        batch_op.create_index('ix_code_entry_failures_created_at', ['created_at'], unique=False)

    audit = sa.table(
        'audit_records',
        sa.column('actor', sa.String),
        sa.column('action', sa.String),
        sa.column('detail', sa.JSON),
        sa.column('created_at', sa.DateTime),
    )
    since = datetime.now(timezone.utc).replace(tzinfo=None) - BACKFILL
    rows = op.get_bind().execute(
        sa.select(audit.c.actor, audit.c.detail, audit.c.created_at).where(
            audit.c.action.in_(COUNTED_ACTIONS), audit.c.created_at >= since
        )
    ).all()
    copied = [
        {
            'actor': actor,
            'pickup_point_id': detail['pickup_point_id'],
            'device_id': detail.get('device_id'),
            'outcome': detail['outcome'],
            'created_at': created_at,
        }
        for actor, detail, created_at in rows
        if isinstance(detail, dict)
        and detail.get('outcome') in FAILED_OUTCOMES
        and isinstance(detail.get('pickup_point_id'), int)
    ]
    if copied:
        op.bulk_insert(failures, copied)


def downgrade():
    with op.batch_alter_table('code_entry_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_code_entry_failures_created_at')
    op.drop_table('code_entry_failures')
