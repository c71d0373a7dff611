"""A tiny shop: a catalog, its prices and the page that shows them."""
