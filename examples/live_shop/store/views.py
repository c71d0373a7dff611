"""The one page of the shop."""

import os

from store.catalog import ITEMS
from store.prices import price


def menu(requests: int) -> str:
    prices = " · ".join("%s %.2f" % (item.name, price(item.name) / 100) for item in ITEMS)
    return "%s EUR  (request %d, pid %d)\n" % (prices, requests, os.getpid())
