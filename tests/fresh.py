"""The oracle: what ``python -c "import m"`` says in a fresh process of the same interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hotmod.core import Code, ModuleResult

_LAST_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s|:?$)")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
# The diagnostic codes whose message starts with the exception's type name.
_EXCEPTION_CODES = {Code.EXCEPTION, Code.IMPORT_ERROR, Code.SYNTAX_ERROR, Code.MEMORY_LIMIT}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    kind: str | None = None  # the exception's type name (unqualified), when known
    line: int | None = None  # 1-based: the innermost line of the module's own file


def fresh_verdict(
    root: Path,
    module: str,
    timeout: float = 30.0,
    python: Path | str = sys.executable,
    path: Path | None = None,
) -> Verdict:
    """Import ``module`` with ``python`` in a new interpreter started in ``root`` (its
    module dir); ``path`` is the module's file (default: ``root``/a/b.py for ``a.b``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HOTMOD"))}
    proc = subprocess.run(
        [str(python), "-c", f"import {module}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    if proc.returncode == 0:
        return Verdict(True)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    # What the interpreter prints while shutting down (e.g. a GC callback that
    # raises) comes after the import's traceback and is not part of the verdict.
    ignored = [i for i, line in enumerate(lines) if line.startswith("Exception ignored")]
    lines = lines[: ignored[0]] if ignored else lines
    kind = None
    if lines and (match := _LAST_LINE.match(lines[-1])):
        kind = match["type"].rsplit(".", 1)[-1]
    own = str(path or root / (module.replace(".", "/") + ".py"))
    frames = [m for line in lines if (m := _FRAME.match(line)) and m["file"] == own]
    return Verdict(False, kind, int(frames[-1]["line"]) if frames else None)


def hotmod_verdict(result: ModuleResult) -> Verdict:
    """The same three facts from hotmod's result for the module."""
    if result.ok:
        return Verdict(True)
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    if not errors:
        return Verdict(False)
    first = errors[0]
    kind = None
    message = first.message
    if first.code is Code.DEPENDENCY_ERROR:  # "importing 'x' failed: Type: message"
        message = message.split(" failed: ", 1)[-1]
    if first.code in _EXCEPTION_CODES or first.code is Code.DEPENDENCY_ERROR:
        kind = message.split(":", 1)[0].strip().rsplit(".", 1)[-1] or None
    return Verdict(False, kind, first.span.line + 1)


def same_verdict(ours: Verdict, fresh: Verdict) -> bool:
    """Equal where the fresh process says something: ok-ness always, then the type and
    line when its traceback shows them (a module may silence its own traceback)."""
    if ours.ok != fresh.ok:
        return False
    if fresh.kind is not None and ours.kind != fresh.kind:
        return False
    return fresh.line is None or ours.line == fresh.line
