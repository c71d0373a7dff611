"""What a check may leave running: nothing but the worker's idle spare child."""

from __future__ import annotations

import time

import psutil


def leftovers(zygote: int) -> list[psutil.Process]:
    """Descendants of the worker's zygote other than its spare.

    The zygote pre-forks the next check's child, which waits on a pipe of its
    own: one direct child without children of its own may be that spare.
    """
    try:
        root = psutil.Process(zygote)
        everything = root.children(recursive=True)
        direct = root.children()
    except psutil.NoSuchProcess:
        return []
    for child in direct:
        try:
            if not child.children() and child.status() != psutil.STATUS_ZOMBIE:
                return [p for p in everything if p.pid != child.pid]
        except psutil.NoSuchProcess:
            continue
    return everything


def wait_for_no_leftovers(zygote: int, timeout: float = 10.0) -> None:
    """Checks are reaped just after their verdict is sent: allow a moment."""
    deadline = time.monotonic() + timeout
    while (left := leftovers(zygote)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left, f"processes left behind by the checks: {left}"


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether ``pid`` has exited (a zombie counts), allowing it ``timeout`` to do so."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
