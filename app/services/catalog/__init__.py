"""A merchant's products: prices, stock and stock alerts, photos, Excel import and export,
scheduled listing."""
