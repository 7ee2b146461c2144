"""redemptions remember what was asked under their idempotency key, so a key reused for another
code, point or lines is refused instead of answered with the first request's result

Revision ID: 0016_redeem_request_digest
Revises: 0015_user_sessions
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_redeem_request_digest'
down_revision = '0015_user_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_column('request_digest')
