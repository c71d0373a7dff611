"""A tiny shop: prices, a cart and a checkout."""
