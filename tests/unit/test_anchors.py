"""Anchors: the tiny processes that lead each check's process group (worker/procs.py)."""

from __future__ import annotations

import os
import time

import psutil
import pytest
from hotmod.core.worker import procs
from hotmod.core.worker.procs import AHEAD, Anchors


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_take_is_a_new_group_leader_and_replacements_come_ahead() -> None:
    anchors = Anchors()
    try:
        taken = [anchors.take() for _ in range(2 * AHEAD + 1)]
        assert None not in taken
        assert len(set(taken)) == len(taken)
        for anchor in taken:
            assert anchor is not None
            assert os.getpgid(anchor) == anchor  # it leads its own group
        # Asked for at each take, collected at the next: a burst of checks
        # finds them waiting instead of waiting for the factory.
        time.sleep(0.5)
        anchors._collect(0)
        assert len(anchors.pool) == AHEAD
    finally:
        anchors.close()
    deadline = time.monotonic() + 10
    while any(alive(a) for a in taken if a) and time.monotonic() < deadline:
        time.sleep(0.05)  # the factory is gone: its anchors see EOF and exit
    assert not any(alive(a) for a in taken if a)


def test_several_replies_read_at_once_are_all_anchors() -> None:
    anchors = Anchors()
    try:
        anchors.fill(5)
        assert len(set(anchors.pool)) == 5
        assert anchors.pid is not None  # the factory is still trusted
    finally:
        anchors.close()


def test_the_factory_is_an_interpreter_of_its_own_not_a_copy_of_the_asker() -> None:
    # A stem asks for anchors with its package and every warm import in memory;
    # a factory (and so each anchor) forked from it held all of that, and a
    # fork and an exit cost in proportion.
    ballast = bytearray(256 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # resident, not just reserved
    anchors = Anchors()
    try:
        anchor = anchors.take()
        assert anchor is not None
        factory = psutil.Process(anchors.pid)
        assert factory.memory_info().rss < 64 * 1024 * 1024
        assert psutil.Process(anchor).memory_info().rss < 64 * 1024 * 1024
        assert any(arg.endswith("anchor_factory.py") for arg in factory.cmdline())
    finally:
        anchors.close()
        del ballast


def test_anchors_come_even_when_no_interpreter_can_be_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(procs, "executable", "/nonexistent/python")
    anchors = Anchors()  # the factory serves from the fork instead
    try:
        anchor = anchors.take()
        assert anchor is not None
        assert os.getpgid(anchor) == anchor
    finally:
        anchors.close()
