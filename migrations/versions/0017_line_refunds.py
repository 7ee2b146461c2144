"""order_items.refunded_fen: what each line has had back, so no line is refunded beyond its price

Revision ID: 0017_line_refunds
Revises: 0016_redeem_request_digest
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_line_refunds'
down_revision = '0016_redeem_request_digest'
branch_labels = None
depends_on = None

LINE_TOTAL = "order_items.unit_price_fen * order_items.quantity"

# What each refund path gave back per line before lines kept count, from the rows it left:
# a failed group refunded its failed lines whole; a paid order cancelled by its customer
# (a customer_cancelled refund) all of its lines; a shortage the short units at the price paid;
# after-sales the approved requests' amounts. Late payments paid for no line and stay on the
# order. Lines that an earlier bug refunded twice are capped at their price, as the new CHECK
# requires; the order's own refunded_fen still shows what really went back.
BACKFILL = f"""
UPDATE order_items SET refunded_fen = CASE
    WHEN status = 'failed' THEN {LINE_TOTAL}
    WHEN status = 'cancelled' AND EXISTS (
        SELECT 1 FROM refunds WHERE refunds.order_id = order_items.order_id AND refunds.reason = 'customer_cancelled'
    ) THEN {LINE_TOTAL}
    ELSE order_items.shortage_qty * order_items.unit_price_fen + COALESCE((
        SELECT SUM(r.refund_fen) FROM after_sales_requests r
        WHERE r.order_item_id = order_items.id AND r.status = 'approved' AND r.refund_fen IS NOT NULL
    ), 0)
END
"""
CAP = f"UPDATE order_items SET refunded_fen = {LINE_TOTAL} WHERE refunded_fen > {LINE_TOTAL}"


def upgrade():
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded_fen', sa.Integer(), nullable=False, server_default='0'))
    op.execute(BACKFILL)
    op.execute(CAP)
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_order_items_refunded_in_range'),
            'refunded_fen >= 0 AND refunded_fen <= unit_price_fen * quantity',
        )


def downgrade():
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_items_refunded_in_range'), type_='check')
        batch_op.drop_column('refunded_fen')
