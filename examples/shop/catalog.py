"""The catalog: healthy, and independent of the cart."""

from shop.prices import with_tax

ITEMS = {"apple": 1.0, "pear": 1.5}
PRICES = {name: with_tax(price) for name, price in ITEMS.items()}
