"""hotmod.live: verified changes applied inside a running Python program.

The agent in this package runs inside the user's program (a REPL, a notebook
kernel, a web server): standard library only, Python 3.8+.  It waits for a
controller (``hotmod run`` or the language server) to name project files whose
saved contents passed hotmod's fresh-import checks, re-reads them, and updates
the program's loaded modules in place (``patch.py``), keeping its state.

Public API, where hotmod is installed::

    import hotmod.live
    hotmod.live.attach()          # this process takes verified changes

and in IPython or Jupyter: ``%load_ext hotmod.live``.  How it works, and what is
applied and what needs a restart: docs/live.md.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from . import agent as _agent
from .agent import Agent


def attach(workspace: Optional[str] = None, rerun: bool = False) -> Agent:
    """Let hotmod apply verified changes of the project at ``workspace`` (default:
    the project holding the current directory) to this process's modules.

    ``rerun``: a change to module top-level code re-runs the module instead of
    asking for a restart (docs/live.md).  Calling it again returns the same agent.
    """
    if workspace is None:
        from pathlib import Path

        from hotmod.core.project_root import project_root  # hotmod is installed here

        workspace = str(project_root(Path(os.getcwd())))
    return _agent.attach(workspace, None, rerun)


def detach() -> None:
    """Stop taking changes (also done at exit)."""
    _agent.detach()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hotmod.live``: the kernel takes verified changes."""
    agent = attach()
    print("hotmod: live reload on for %s (pid %d)" % (agent.workspace, os.getpid()))


def unload_ipython_extension(ipython: Any) -> None:
    detach()


__all__ = ["Agent", "attach", "detach", "load_ipython_extension", "unload_ipython_extension"]
