"""What the shop sells."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    cents: int


ITEMS = [Item("coffee", 250), Item("tea", 180), Item("cake", 320)]
