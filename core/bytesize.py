"""Byte counts for people to read: ``512 B``, ``1.5 KB``, ``-2.0 MB``."""

from __future__ import annotations

KB = 1024
MB = 1024 * 1024


def format_bytes(n: int) -> str:
    """``n`` bytes in B, KB or MB (binary units); a negative count keeps its sign."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n >= MB:
        return f"{sign}{n / MB:.1f} MB"
    if n >= KB:
        return f"{sign}{n / KB:.1f} KB"
    return f"{sign}{n} B"
