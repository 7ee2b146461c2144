"""Importing this package registers every table on the metadata."""

from app.models.accounts import ApiToken, Leader, Merchant, MerchantInvitation, MerchantMember, User
from app.models.after_sales import AfterSalesRequest
from app.models.catalog import Product, StockAlert
from app.models.channels import ChannelDelivery, NotificationChannel
from app.models.deliveries import DeliveryBatch
from app.models.documents import DocumentJob
from app.models.notifications import AuditRecord, Notification, NotificationMute, OutboxMessage
from app.models.orders import CustomerItemUsage, Order, OrderEvent, OrderItem, PointWindowUsage
from app.models.payments import Payment, Refund
from app.models.pickup import PickupCode, Redemption
from app.models.points import PickupPoint, PickupStaff
from app.models.windows import ShareLink, Window, WindowItem, WindowLeader

__all__ = [
    "AfterSalesRequest",
    "ApiToken",
    "AuditRecord",
    "ChannelDelivery",
    "CustomerItemUsage",
    "DeliveryBatch",
    "DocumentJob",
    "Leader",
    "Merchant",
    "MerchantInvitation",
    "MerchantMember",
    "Notification",
    "NotificationChannel",
    "NotificationMute",
    "Order",
    "OrderEvent",
    "OrderItem",
    "OutboxMessage",
    "Payment",
    "PickupCode",
    "PickupPoint",
    "PickupStaff",
    "PointWindowUsage",
    "Product",
    "Redemption",
    "Refund",
    "ShareLink",
    "StockAlert",
    "User",
    "Window",
    "WindowItem",
    "WindowLeader",
]
