"""Every message between a live agent and its controllers, declared once.

An *agent* runs inside a user's program (``agent.py``) and listens on a Unix
socket in a per-user private folder (``rendezvous.py``).  A *controller* (the
``hotmod run`` supervisor, the language server) connects, says ``hello`` with
the agent's token, and may then ask it to ``apply`` verified files.  Every
controller connected hears of every change applied (``applied`` events), so
``hotmod run`` prints what the language server applied.

One JSON object per line.  The agent never executes code it receives: an
``apply`` names workspace files and the digest of the content the checker
verified; the agent re-reads each file and refuses the whole change if one
differs.

Standard library only, Python 3.8+ (the program's interpreter may be old):
annotations stay strings.
"""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, TypedDict

PROTOCOL_VERSION = 1


# -- controller -> agent ------------------------------------------------------------


class Hello(TypedDict):
    """The first message: proves the controller could read the agent's private entry."""

    op: Literal["hello"]
    token: str
    controller: str  # "run" (the hotmod run supervisor) or "server" (the language server)


class VerifiedFile(TypedDict):
    path: str  # absolute, below the workspace
    digest: str  # blake2b (16 bytes, hex) of the content the checker verified


class Apply(TypedDict):
    """Apply these files, all or nothing."""

    op: Literal["apply"]
    id: int
    files: List[VerifiedFile]
    rerun: bool  # also re-run module top-level code that changed (opt-in: see docs/live.md)


class Restart(TypedDict):
    """Ask the ``hotmod run`` supervisor to restart the program (sent to it, not the agent)."""

    op: Literal["restart"]


class Bye(TypedDict):
    op: Literal["bye"]


# -- agent -> controllers -----------------------------------------------------------


class AgentInfo(TypedDict):
    """What an agent says of itself, on connection and in its rendezvous entry."""

    event: Literal["info"]
    protocol: int
    pid: int
    python: str
    argv: List[str]
    workspace: str
    started: float  # Unix time
    supervisor: Optional[str]  # the hotmod run supervisor's socket, if any
    modules: List[str]  # project modules loaded in the program, by name
    applied: int  # changes applied so far


class Change(TypedDict):
    """One thing updated in place."""

    module: str
    kind: str  # "function", "method", "class", "constant", "import", "module"
    name: str
    action: str  # "changed", "added", "removed", "rebound", "re-run"


class Refusal(TypedDict):
    """Why a change needs a restart (the whole change was then not applied)."""

    path: str
    line: int  # 1-based
    reason: str  # "dataclass Order gained a field", ...


class Stale(TypedDict):
    """A loaded module still holding an object the change replaced or removed."""

    path: str  # the holder's file
    line: int  # 1-based: where it took the object (its import, or the assignment)
    holder: str  # the holder module
    name: str  # dotted: what it holds, e.g. "shop.prices.discount"
    why: str  # "removed", "computed from it at import"


class Applied(TypedDict):
    """The outcome of one ``apply``: everything, or nothing and why."""

    event: Literal["applied"]
    id: int  # the apply's id; 0 for events broadcast to other controllers
    pid: int
    ok: bool
    files: List[str]
    summary: str  # one line: "2 functions changed, 1 added"
    changes: List[Change]
    refused: List[Refusal]
    stale: List[Stale]
    running: List[str]  # code running now that takes the change at its next call
    error: str  # not applied for another reason (a file differs from what was verified...)
    ms: float


class Welcome(TypedDict):
    event: Literal["welcome"]
    info: AgentInfo


Message = Dict[str, object]
