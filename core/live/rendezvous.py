"""Where live agents, ``hotmod run`` supervisors and language servers find each other.

One folder per user, private (0700, owned by the user, refused otherwise):
``$HOTMOD_LIVE_DIR``, else ``$XDG_RUNTIME_DIR/hotmod-live``, else
``<tmp>/hotmod-live-<uid>``.  Each participant publishes an *entry* there, a
JSON file (0600) beside its Unix socket, named ``<kind>-<pid>-<nonce>``:

- ``agent``: a program that takes verified changes (its socket serves
  ``protocol.py``; the entry holds the token a controller proves itself with);
- ``supervisor``: ``hotmod run`` (its socket takes ``restart``);
- ``server``: a language server applying changes for its workspace folders (no
  socket: ``hotmod run`` only needs to know that it is there, to leave the
  checking to it).

Entries are removed when their process exits; an entry whose process is gone
(killed) is removed by the next one who lists the folder.  No network port.

Standard library only, Python 3.8+: the agent imports this in the user's program.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import tempfile
from typing import Any, Dict, List, Optional

SUFFIX = ".json"


class LiveError(Exception):
    """Live reload cannot work here; the message says why, for the user."""


def folder(create: bool = True) -> str:
    """The private rendezvous folder (created 0700 if ``create``)."""
    explicit = os.environ.get("HOTMOD_LIVE_DIR")
    if explicit:
        path = explicit
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = os.path.join(os.environ["XDG_RUNTIME_DIR"], "hotmod-live")
    else:
        path = os.path.join(tempfile.gettempdir(), "hotmod-live-%d" % os.getuid())
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise LiveError("cannot create %s: %s" % (path, exc.strerror)) from None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    # Another user's folder, a symlink or a folder others can enter would let
    # them read the tokens or stand in for an agent.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise LiveError(
            "%s is not a private folder of yours (it must be a directory with mode 0700); "
            "remove it or set HOTMOD_LIVE_DIR" % path
        )
    return path


def new_name(kind: str) -> str:
    return "%s-%d-%s" % (kind, os.getpid(), secrets.token_hex(3))


def socket_path(name: str, base: Optional[str] = None) -> str:
    return os.path.join(base or folder(), name + ".sock")


def publish(name: str, entry: Dict[str, Any], base: Optional[str] = None) -> str:
    """Write ``entry`` as ``name``'s entry, atomically and readable only by the user."""
    base = base or folder()
    path = os.path.join(base, name + SUFFIX)
    temporary = os.path.join(base, ".%s.tmp" % name)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(entry, f)
    os.replace(temporary, path)
    return path


def withdraw(name: str, base: Optional[str] = None) -> None:
    """Remove ``name``'s entry and socket (a process does it as it exits)."""
    base = base or folder(create=False)
    for suffix in (SUFFIX, ".sock"):
        try:
            os.unlink(os.path.join(base, name + suffix))
        except OSError:
            pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def entries(kind: Optional[str] = None, base: Optional[str] = None) -> List[Dict[str, Any]]:
    """The entries of live processes (with ``name``), removing those of dead ones."""
    try:
        base = base or folder(create=False)
        names = os.listdir(base)
    except (OSError, LiveError):
        return []
    found = []
    for file in sorted(names):
        if not file.endswith(SUFFIX) or file.startswith("."):
            continue
        name = file[: -len(SUFFIX)]
        if kind is not None and not name.startswith(kind + "-"):
            continue
        entry = _read(os.path.join(base, file))
        if entry is None:
            continue
        pid = entry.get("pid")
        if not isinstance(pid, int) or not alive(pid):
            withdraw(name, base)
            continue
        entry["name"] = name
        found.append(entry)
    return found


def _read(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def covers(workspace: str, path: str) -> bool:
    """Whether ``path`` is ``workspace`` or below it (both absolute, real)."""
    return path == workspace or path.startswith(workspace.rstrip(os.sep) + os.sep)


def related(a: str, b: str) -> bool:
    """Two workspaces that share files: one holds the other."""
    return covers(a, b) or covers(b, a)
