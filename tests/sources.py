"""Module sources shared by the engine and the LSP tests."""

# A module to profile.  Line 7 is the slow one: 40 sleeps of 5 ms in a loop.
# Line 2 imports a project module (``slowdep``), whose cost is the import
# tree's business and must not make line 2 "hot".
SLOW = """\
import time
import slowdep


def helper(n):
    return sum(range(n))
for _ in range(40): time.sleep(0.005)
X = helper(2_000)
"""
