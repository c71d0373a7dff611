"""What a check may leave running: nothing but the worker's idle spare children."""

from __future__ import annotations

import os
import time

import psutil


def leftovers(zygote: int, jobs: int | None = None) -> list[psutil.Process]:
    """Descendants of the worker's zygote other than its spares and its own helpers.

    The zygote pre-forks one child per job (``os.cpu_count()`` by default) for
    the next checks, each waiting on a pipe of its own: up to that many
    direct children without children of their own may be spares.  Its helper,
    the anchor factory (see hotmod.core.worker.procs), stays in the zygote's
    process group, where no check runs; the anchors it keeps ready are its
    children.
    """
    spares_allowed = jobs or os.cpu_count() or 1
    try:
        root = psutil.Process(zygote)
        everything = root.children(recursive=True)
        direct = root.children()
    except psutil.NoSuchProcess:
        return []
    ours = set()
    spares = 0
    for child in direct:
        try:
            if os.getpgid(child.pid) == zygote:
                ours |= {child.pid, *(p.pid for p in child.children(recursive=True))}
            elif (
                spares < spares_allowed
                and not child.children()
                and child.status() != psutil.STATUS_ZOMBIE
            ):
                ours.add(child.pid)
                spares += 1
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue
    return [p for p in everything if p.pid not in ours]


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
