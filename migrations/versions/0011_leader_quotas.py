"""per-leader quotas within a window

Revision ID: 0011_leader_quotas
Revises: 0010_product_media_schedule
Create Date: 2026-12-03 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_leader_quotas'
down_revision = '0010_product_media_schedule'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('window_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('per_leader_quota', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('has_leader_overrides', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_window_items_per_leader_quota_not_negative'),
            'per_leader_quota IS NULL OR per_leader_quota >= 0',
        )

    op.create_table('window_leader_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_item_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('explicit', sa.Boolean(), nullable=False),
    sa.CheckConstraint('quota >= 0', name=op.f('ck_window_leader_quotas_quota_not_negative')),
    sa.CheckConstraint('sold >= 0', name=op.f('ck_window_leader_quotas_sold_not_negative')),
    sa.CheckConstraint('sold <= quota', name=op.f('ck_window_leader_quotas_sold_within_quota')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_window_leader_quotas_leader_id_leaders')),
    sa.ForeignKeyConstraint(['window_item_id'], ['window_items.id'], name=op.f('fk_window_leader_quotas_window_item_id_window_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_leader_quotas')),
    sa.UniqueConstraint('window_item_id', 'leader_id', name=op.f('uq_window_leader_quotas_window_item_id_leader_id'))
    )
    with op.batch_alter_table('window_leader_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_window_leader_quotas_leader_id'), ['leader_id'], unique=False)


def downgrade():
    with op.batch_alter_table('window_leader_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_window_leader_quotas_leader_id'))

    op.drop_table('window_leader_quotas')
    with op.batch_alter_table('window_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_window_items_per_leader_quota_not_negative'), type_='check')
        batch_op.drop_column('has_leader_overrides')
        batch_op.drop_column('per_leader_quota')
