"""A ready-to-order shop (merchant, product, window, leader, pickup point, share link) for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models import Leader, Merchant, PickupPoint, Product, ShareLink, Window, WindowItem


@dataclass
class Shop:
    merchant: Merchant
    window: Window
    leader: Leader
    point: PickupPoint
    link: ShareLink
    products: list[Product] = field(default_factory=list)
    items: list[WindowItem] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.link.slug

    @property
    def item(self) -> WindowItem:
        return self.items[0]

    @property
    def product(self) -> Product:
        return self.products[0]

    def order_args(self, qty: int = 1, *, phone: str = "13800138000", **overrides) -> dict:
        args = {
            "lines": {self.item.id: qty},
            "pickup_point_id": self.point.id,
            "customer_name": "张三",
            "customer_phone": phone,
            "provider": "simulator",
        }
        args.update(overrides)
        return args


class ShopBuilder:
    """Call with stock/limit/quota/capacity/price; `n_items` products share those settings."""

    def __init__(self, make_product, make_window, make_leader, make_point, make_share_link):
        self.make_product, self.make_window = make_product, make_window
        self.make_leader, self.make_point, self.make_share_link = make_leader, make_point, make_share_link

    def __call__(
        self,
        *,
        stock=100,
        limit=None,
        quota=None,
        capacity=200,
        price_fen=1250,
        n_items=1,
        status="open",
        opens_at=None,
        closes_at=None,
        chosen_only=False,
        merchant=None,
    ) -> Shop:
        leader = self.make_leader()
        products = [self.make_product(merchant, stock=stock, price_fen=price_fen + 100)]
        for _ in range(n_items - 1):
            products.append(self.make_product(products[0].merchant, stock=stock, price_fen=price_fen + 100))
        window = self.make_window(
            products[0].merchant,
            items=[{"product": p, "price_fen": price_fen, "limit": limit, "quota": quota} for p in products],
            status=status,
            opens_at=opens_at,
            closes_at=closes_at,
            leaders=[leader] if chosen_only else None,
        )
        point = self.make_point(leader, capacity=capacity)
        link = self.make_share_link(window, leader)
        return Shop(
            merchant=products[0].merchant,
            window=window,
            leader=leader,
            point=point,
            link=link,
            products=products,
            items=list(window.items),
        )
