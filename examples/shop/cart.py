"""A shopping cart.

Broken on purpose: ``discount`` was renamed in prices.py, so this import
fails, exactly as ``python -c "import shop.cart"`` would.
"""

from shop.prices import discount, with_tax


class Cart:
    def __init__(self) -> None:
        self.items: list[float] = []

    def add(self, price: float) -> None:
        self.items.append(price)

    def total(self) -> float:
        return with_tax(discount(sum(self.items)))
