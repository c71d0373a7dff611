"""The hotmod worker: runs inside the *project's* interpreter.

The engine starts it with ``python -c BOOTSTRAP`` (see ``launch.py``), which
loads this package by path under a private name: the project's interpreter
need not have hotmod installed, and nothing of it lands on ``sys.path``.
Every module here uses the standard library only and stays compatible with
Python 3.8 (the project's interpreter may be old): annotations are strings
(``from __future__ import annotations``), and nothing evaluates them at run
time except the engine, which imports ``protocol`` as
``hotmod.core.worker.protocol``.

Modules, by job:

- ``protocol``: every message between the engine and the worker, declared once;
- ``safe``: the builtins and functions captured before any other code runs;
- ``wire``: JSON lines on file descriptors, with an encoder user code cannot patch;
- ``slot``: the shared memory a check child leaves its report in;
- ``child``: one check: import a module fresh and report;
- ``describe``: an exception as data, whatever the exception does;
- ``audit``: side effects at import (a PEP 578 audit hook);
- ``profiler``: a profile of one import;
- ``codecache``: code objects of unchanged project files, shared by every check;
- ``procs``: process groups, reaping, killing what a check leaves behind;
- ``zygote``: the warm process that forks one child per check.
"""

# What ``sys.modules`` holds in a fresh ``python -c`` of this interpreter: set by
# the bootstrap (launch.py) on this module before this file runs; empty when
# the engine imports this package.
FRESH_MODULES: "frozenset[str]" = globals().get("FRESH_MODULES", frozenset())
