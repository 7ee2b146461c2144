"""Importing this package registers every table on the metadata."""

from app.models.accounts import ApiToken, Leader, Merchant, MerchantInvitation, MerchantMember, User, UserSession
from app.models.after_sales import AfterSalesRequest
from app.models.analytics import CustomerDay, CustomerSketch, MerchantSalesDaily, ProductSalesDaily, SalesDaily
from app.models.catalog import Product, StockAlert
from app.models.channels import ChannelDelivery, NotificationChannel
from app.models.deliveries import DeliveryBatch
from app.models.documents import DocumentJob
from app.models.jobs import JobRun
from app.models.notifications import AuditRecord, Notification, NotificationMute, OutboxMessage
from app.models.orders import CustomerItemUsage, Order, OrderEvent, OrderItem, PointWindowUsage
from app.models.payments import Payment, Refund
from app.models.pickup import CodeEntryFailure, PickupCode, Redemption
from app.models.points import PickupPoint, PickupStaff
from app.models.windows import ShareLink, Window, WindowItem, WindowLeader, WindowLeaderQuota

__all__ = [
    "AfterSalesRequest",
    "ApiToken",
    "AuditRecord",
    "ChannelDelivery",
    "CodeEntryFailure",
    "CustomerDay",
    "CustomerItemUsage",
    "CustomerSketch",
    "DeliveryBatch",
    "DocumentJob",
    "JobRun",
    "Leader",
    "Merchant",
    "MerchantSalesDaily",
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
    "ProductSalesDaily",
    "Redemption",
    "Refund",
    "SalesDaily",
    "ShareLink",
    "StockAlert",
    "User",
    "UserSession",
    "Window",
    "WindowItem",
    "WindowLeader",
    "WindowLeaderQuota",
]
