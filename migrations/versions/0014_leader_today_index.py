"""orders by leader, status and arrival: the leader's Today counts from the index alone

Revision ID: 0014_leader_today_index
Revises: 0013_job_leases
Create Date: 2026-12-02 10:05:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_leader_today_index'
down_revision = '0013_job_leases'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(
            'ix_orders_leader_id_status_arrived_at', ['leader_id', 'status', 'arrived_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_leader_id_status_arrived_at')
