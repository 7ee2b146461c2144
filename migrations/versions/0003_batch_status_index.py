"""index orders by batch and status

Revision ID: 0003_batch_status_index
Revises: 0002_pickup_counter
Create Date: 2026-12-01 22:10:00

"""

from alembic import op

revision = "0003_batch_status_index"
down_revision = "0002_pickup_counter"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_batch_id_status", ["batch_id", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_batch_id_status")
