"""``workspace/executeCommand`` handlers: a flat registry, one small function each.

Every command takes at most one argument, an object; anything else is an
InvalidParams error with a readable message.  Results are plain JSON plus
the result rendered for people (``message``, ``markdown``), which the server
also shows itself to clients without a hotmod extension.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, cast

from hotmod.core import __version__
from hotmod.core.config import ConfigError
from hotmod.core.engine import EngineStatus
from hotmod.core.profile import ModuleProfile, ProfileUnavailable, profile_json
from hotmod.core.report_markdown import (
    Rendered,
    render_check,
    render_dev_mode,
    render_live_apply,
    render_live_processes,
    render_live_restart,
    render_memory,
    render_performance,
    render_profile,
    render_reload,
    render_status,
)
from hotmod.core.results import CheckReport, ReloadOutcome
from hotmod.core.serialize import module_json, to_jsonable
from hotmod.core.worker_client import WorkerError
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcRequestCancelled,
)

from . import convert
from .folders import Folder
from .protocol import HotmodProtocol
from .server import HotmodServer

if TYPE_CHECKING:  # live reload's modules are imported once it is used
    from hotmod.core.live_links import LiveProcess

    from .live import FolderLive

log = logging.getLogger(__name__)

# Module names an error lists when it asks which module is meant.
NAMED_MODULES = 5


@dataclass(frozen=True)
class Answer:
    """A command's result: its JSON data, and the same rendered for people."""

    data: dict[str, Any]
    rendered: Rendered
    folder: Folder

    def json(self) -> dict[str, Any]:
        return {**self.data, "message": self.rendered.message, "markdown": self.rendered.markdown}


Handler = Callable[[HotmodServer, dict[str, Any]], Awaitable[Answer]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    keys: frozenset[str]
    needs_trust: bool


COMMANDS: dict[str, Command] = {}


def command(
    name: str, keys: tuple[str, ...] = (), needs_trust: bool = True
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, handler, frozenset({"uri", *keys}), needs_trust)
        return handler

    return register


def register_all(server: HotmodServer) -> None:
    for cmd in COMMANDS.values():
        server.command(cmd.name)(_entry_point(cmd))


def _entry_point(cmd: Command) -> Callable[..., Awaitable[Any]]:
    # ``*args`` takes the raw arguments: pygls would refuse an empty list
    # before our code could explain what is expected.
    async def entry(ls: HotmodServer, *args: Any) -> Any:
        argument = _argument(cmd, args)
        # A command sent right after `initialize` waits for the folders to open.
        try:
            await asyncio.wait_for(ls.folders_ready.wait(), timeout=30)
        except TimeoutError:
            raise JsonRpcInvalidParams(f"{cmd.name}: the workspace is still loading") from None
        if cmd.needs_trust and not ls.trusted:
            raise JsonRpcInvalidParams(
                f"{cmd.name}: the workspace is not trusted, so hotmod runs none of its code"
            )
        protocol = cast(HotmodProtocol, ls.protocol)
        tasks = protocol.command_tasks
        request_id = protocol.msg_id
        task = asyncio.current_task()
        if request_id is not None and task is not None:
            tasks[request_id] = task
        try:
            answer = await cmd.handler(ls, argument)
        except asyncio.CancelledError:
            raise JsonRpcRequestCancelled(f"{cmd.name} was cancelled") from None
        except JsonRpcException:
            raise
        except (ConfigError, WorkerError) as exc:
            ls.tell(f"hotmod: {exc}")
            raise JsonRpcInternalError(f"{cmd.name}: {exc}") from None
        except Exception as exc:
            log.exception("command %s failed", cmd.name)
            ls.tell(f"hotmod: {cmd.name} failed: {exc}")
            raise JsonRpcInternalError(f"{cmd.name} failed: {exc}") from None
        finally:
            tasks.pop(request_id, None)
        ls.present(answer.rendered, answer.folder.path)
        return answer.json()

    entry.__name__ = cmd.name.replace(".", "_")
    return entry


def _argument(cmd: Command, args: tuple[Any, ...]) -> dict[str, Any]:
    if len(args) > 1:
        raise JsonRpcInvalidParams(
            f"{cmd.name} takes at most one argument (an object), got {len(args)}"
        )
    if not args or args[0] is None:
        return {}
    value = args[0]
    if not isinstance(value, dict):
        raise JsonRpcInvalidParams(
            f"{cmd.name} expects an object argument, got {type(value).__name__} {_short(value)}"
        )
    unknown = sorted(str(k) for k in value if k not in cmd.keys)
    if unknown:
        raise JsonRpcInvalidParams(
            f"{cmd.name}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(cmd.keys))}"
        )
    for key in ("uri", "module"):
        if key in value and not isinstance(value[key], str):
            raise JsonRpcInvalidParams(
                f"{cmd.name}: {key} must be a string, got {_short(value[key])}"
            )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- targets --------------------------------------------------------------------
def _folder(
    ls: HotmodServer, argument: dict[str, Any], name: str, usable: bool = True
) -> tuple[Folder, str | None]:
    """The folder a command is about, and the file path if a file URI was given.

    ``usable``: the folder must be checkable (InvalidParams with the reason if not).
    """
    uri = argument.get("uri")
    if uri is not None:
        path = convert.uri_to_path(uri)
        if path is None:
            raise JsonRpcInvalidParams(f"{name}: only file: URIs can be checked, got {_short(uri)}")
        found = ls.folder_for_path(path)
        if found is None:
            raise JsonRpcInvalidParams(f"{name}: {path} is outside the workspace folders")
        folder, file = found, os.path.abspath(path)
    else:
        if not ls.folders:
            raise JsonRpcInvalidParams(f"{name}: no workspace folder is open")
        if len(ls.folders) > 1:  # the server cannot know which one the user means
            choices = ", ".join(convert.path_to_uri(str(f.path)) for f in ls.folders.values())
            raise JsonRpcInvalidParams(
                f'{name}: which workspace folder? Pass {{"uri": ...}} of one of: {choices}'
            )
        folder, file = next(iter(ls.folders.values())), None
    return (_usable(folder, name) if usable else folder), file


def _usable(folder: Folder, name: str) -> Folder:
    if folder.engine is None or folder.error:
        raise JsonRpcInvalidParams(f"{name}: {folder.error or 'workspace not loaded'}")
    return folder


def _report_answer(
    folder: Folder, name: str, report: CheckReport | None, added: tuple[str, ...] | None = None
) -> Answer:
    """``added`` is None for a reload, the modules found for a refresh."""
    if report is None:  # the worker could not run (the user was told why)
        raise JsonRpcInternalError(f"{name}: {folder.error or 'the check did not run'}")
    data = {
        "modules": len(report.results),
        "failed": len(report.failed),
        "duration_ms": round(report.duration_ms, 3),
        "results": [module_json(r) for r in report.results],
        "added": list(added or ()),
        "removed": list(report.removed),
        "cancelled": report.cancelled,
    }
    rendered = render_check(report, refresh=added is not None, added=added or (), root=folder.path)
    return Answer(data, rendered, folder)


# -- commands -------------------------------------------------------------------
@command("hotmod.reloadModule", keys=("module",))
async def reload_module(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, module = _module_target(ls, argument, "hotmod.reloadModule")
    engine, scheduler = folder.engine, folder.scheduler
    assert engine is not None and scheduler is not None
    report = await scheduler.run_to_completion(
        lambda cancel, deliver: engine.check([module], should_cancel=cancel, on_result=deliver)
    )
    outcome = ReloadOutcome.of(module, report)
    data = {
        "module": module,
        "found": True,
        "result": module_json(outcome.result) if outcome.result else None,
        "dependents": [module_json(r) for r in outcome.dependents],
    }
    return Answer(data, render_reload(outcome, folder.path), folder)


@command("hotmod.reloadAll")
async def reload_all(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, _ = _folder(ls, argument, "hotmod.reloadAll")
    report = await ls.check_folder(folder, complete=True)
    return _report_answer(folder, "hotmod.reloadAll", report)


@command("hotmod.refresh")
async def refresh(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, _ = _folder(ls, argument, "hotmod.refresh")
    assert folder.engine is not None
    before = set(folder.engine.modules)
    report = await ls.check_folder(
        folder, title="hotmod: refreshing modules", refresh=True, complete=True
    )
    after = set(folder.engine.modules)
    return _report_answer(folder, "hotmod.refresh", report, tuple(sorted(after - before)))


@command("hotmod.toggleDevMode", keys=("enabled",))
async def toggle_dev_mode(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    enabled = argument.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise JsonRpcInvalidParams(
            f"hotmod.toggleDevMode: enabled must be true or false, got {_short(enabled)}"
        )
    folder, _ = _folder(ls, argument, "hotmod.toggleDevMode")
    engine = folder.engine
    assert engine is not None
    state = engine.set_dev_mode(not engine.dev_mode if enabled is None else enabled)
    # Slow-load warnings appear or go: re-publish what we know.
    await ls.check_folder(folder)
    return Answer({"dev_mode": state}, render_dev_mode(state), folder)


@command("hotmod.performanceSummary", needs_trust=False)
async def performance_summary(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, _ = _folder(ls, argument, "hotmod.performanceSummary")
    assert folder.engine is not None
    summary = folder.engine.performance_summary()
    return Answer(to_jsonable(summary), render_performance(summary), folder)


@command("hotmod.memoryReport", needs_trust=False)
async def memory_report(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, _ = _folder(ls, argument, "hotmod.memoryReport")
    engine, scheduler = folder.engine, folder.scheduler
    assert engine is not None and scheduler is not None
    if ls.trusted and not folder.error:
        # Precise per-file figures need a tracemalloc pass over the loaded modules.
        await scheduler.measure(engine.measure_memory)
    report = engine.memory_report()
    return Answer(to_jsonable(report), render_memory(report), folder)


@command("hotmod.status", needs_trust=False)
async def status(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    # A folder that cannot be checked (broken configuration or interpreter)
    # still has a status: what is wrong with it.
    folder, _ = _folder(ls, argument, "hotmod.status", usable=False)
    engine_status = folder.engine.status() if folder.engine is not None else None
    if engine_status is not None:
        data = to_jsonable(engine_status)
    else:  # the configuration could not be read: nothing else is known
        data = {f.name: None for f in fields(EngineStatus)} | {"root": str(folder.path)}
    rendered = render_status(
        engine_status,
        version=__version__,
        trusted=ls.trusted,
        root=folder.path,
        error=folder.error,
    )
    data = {"version": __version__, "trusted": ls.trusted, **data, "error": folder.error}
    return Answer(data, rendered, folder)


@command("hotmod.profileModule", keys=("module", "open"))
async def profile_module(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    name = "hotmod.profileModule"
    open_report = argument.get("open", True)
    if not isinstance(open_report, bool):
        raise JsonRpcInvalidParams(f"{name}: open must be true or false, got {_short(open_report)}")
    folder, module = _module_target(ls, argument, name)
    engine, scheduler = folder.engine, folder.scheduler
    assert engine is not None and scheduler is not None
    profiles: list[ModuleProfile] = []

    def job(should_cancel: Callable[[], bool]) -> None:
        # Between checks, so that they do not skew each other's timings.
        profiles.append(engine.profile(module))

    try:
        await scheduler.measure(job)
    except ProfileUnavailable as exc:
        ls.tell(f"hotmod: {exc}")
        raise JsonRpcInternalError(f"{name}: {exc}") from None
    profile = profiles[0]
    ls.remember_profile(profile)
    if open_report and profile.html is not None:
        ls.open_external(profile.html)
    return Answer(profile_json(profile), render_profile(profile, folder.path), folder)


def _module_target(ls: HotmodServer, argument: dict[str, Any], name: str) -> tuple[Folder, str]:
    """The folder and module that ``{"uri"}`` or ``{"module"}`` names (else the only open one)."""
    if "uri" not in argument and "module" not in argument:
        argument = {"uri": _only_open_module(ls, name)}
    if "module" in argument:
        module = argument["module"]
        folder = next(
            (f for f in ls.folders.values() if f.engine and module in f.engine.modules), None
        )
        if folder is None:
            # A folder that cannot be loaded may be where it lives: say why.
            why = "".join(f" ({f.error})" for f in ls.folders.values() if f.error)[:500]
            raise JsonRpcInvalidParams(f"{name}: unknown module {module!r}{why}")
        return _usable(folder, name), module
    folder, path = _folder(ls, argument, name)
    assert folder.engine is not None and path is not None
    info = folder.engine.module_for_path(path)
    if info is None:
        dirs = ", ".join(str(d) for d in folder.engine.config.module_dirs)
        raise JsonRpcInvalidParams(f"{name}: {path} is not a project module (module dirs: {dirs})")
    return folder, info.name


def _only_open_module(ls: HotmodServer, name: str) -> str:
    """The URI of the one project module the client has open; else which targets there are.

    Which document the user is looking at is unknown to a language server:
    with several open, a guess (the last one opened) acts on the wrong module.
    """
    open_modules = [uri for uri in ls.open_documents if _is_module(ls, uri)]
    if len(open_modules) == 1:
        return open_modules[0]
    if open_modules:
        files = [os.path.basename(convert.uri_to_path(u) or u) for u in open_modules]
        why = (
            f"{len(files)} modules are open ({_some(files, 3)}), and which one is meant is unknown"
        )
    else:
        why = "no module of the workspace is open"
    known = sorted({m for f in ls.folders.values() if f.engine for m in f.engine.modules})
    raise JsonRpcInvalidParams(
        f'{name} needs {{"uri": ...}} or {{"module": ...}}: {why}; '
        f"modules: {_some(known, NAMED_MODULES) or 'none'}"
    )


def _is_module(ls: HotmodServer, uri: str) -> bool:
    path = convert.uri_to_path(uri)
    folder = ls.folder_for_path(path) if path else None
    engine = folder.engine if folder else None
    return engine is not None and path is not None and engine.module_for_path(path) is not None


def _some(names: list[str], limit: int) -> str:
    """The first ``limit`` names, and how many there are in all."""
    more = f", … ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# -- live reload (server/live.py) --------------------------------------------------
@command("hotmod.liveProcesses", needs_trust=False)
async def live_processes(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    folder, _ = _folder(ls, argument, "hotmod.liveProcesses", usable=False)
    live = ls.live.get(str(folder.path))
    processes = live.processes() if live is not None else []
    data = {
        "live_reload": live is not None,
        "processes": [_process_json(p) for p in processes],
    }
    rendered = render_live_processes(processes, root=folder.path, off=_live_off(ls, folder))
    return Answer(data, rendered, folder)


@command("hotmod.liveApply", keys=("rerun",))
async def live_apply(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    name = "hotmod.liveApply"
    rerun = argument.get("rerun")
    if rerun is not None and not isinstance(rerun, bool):
        raise JsonRpcInvalidParams(f"{name}: rerun must be true or false, got {_short(rerun)}")
    folder, live = _live_target(ls, argument, name)
    assert folder.scheduler is not None
    await folder.scheduler.settled()  # the verdicts of the saves under way
    processes = len(live.processes())
    applied = await live.apply_now(rerun=rerun)
    decision = applied.decision
    data = {
        "processes": processes,
        "files": [str(f) for f in decision.files],
        "left_out": [{"module": m.module, "why": m.why} for m in applied.left_out],
        "outcomes": [to_jsonable(o) for o in decision.outcomes],
    }
    ls.live_decided(folder, decision)
    rendered = render_live_apply(
        decision,
        [(m.module, m.why) for m in applied.left_out],
        processes=processes,
        root=folder.path,
        rerun=bool(rerun),
    )
    return Answer(data, rendered, folder)


@command("hotmod.liveRestart", keys=("pid",))
async def live_restart(ls: HotmodServer, argument: dict[str, Any]) -> Answer:
    name = "hotmod.liveRestart"
    pid = argument.get("pid")
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool)):
        raise JsonRpcInvalidParams(f"{name}: pid must be a process id, got {_short(pid)}")
    folder, live = _live_target(ls, argument, name)
    processes = live.processes()
    if pid is not None:
        process = next((p for p in processes if p.pid == pid), None)
        if process is None:
            attached = ", ".join(str(p.pid) for p in processes) or "none"
            raise JsonRpcInvalidParams(f"{name}: pid {pid} is not attached (attached: {attached})")
    else:
        restartable = [p for p in processes if p.supervisor]
        if len(restartable) != 1:
            why = (
                f"{len(restartable)} processes were started by `hotmod run`: "
                + ", ".join(f"pid {p.pid} ({p.command})" for p in restartable)
                if restartable
                else "no attached process was started by `hotmod run`"
            )
            raise JsonRpcInvalidParams(f'{name} needs {{"pid": ...}}: {why}')
        process = restartable[0]
    from .live import RestartError

    try:
        await live.restart(process)
    except RestartError as exc:
        raise JsonRpcInvalidParams(f"{name}: {exc}") from None
    data = {"pid": process.pid, "command": process.command}
    return Answer(data, render_live_restart(process), folder)


def _live_target(
    ls: HotmodServer, argument: dict[str, Any], name: str
) -> tuple[Folder, FolderLive]:
    folder, _ = _folder(ls, argument, name)
    live = ls.live.get(str(folder.path))
    if live is None:
        raise JsonRpcInvalidParams(
            f"{name}: live reload is off for {folder.path.name}: "
            + (_live_off(ls, folder) or "it could not start (see the messages)")
        )
    return folder, live


def _live_off(ls: HotmodServer, folder: Folder) -> str | None:
    """Why nothing is applied to the folder's running programs; None when it is on."""
    if not ls.trusted:
        return "the workspace is not trusted"
    if folder.error or folder.engine is None:
        return folder.error or "the workspace is not loaded"
    if not folder.engine.config.live_reload:
        return "the liveReload setting (`live_reload` in [tool.hotmod]) is off"
    return None if str(folder.path) in ls.live else "it could not start (see the messages)"


def _process_json(process: LiveProcess) -> dict[str, Any]:
    return {
        **to_jsonable(process),
        "modules": sorted(process.modules),
        "command": process.command,
        "restartable": bool(process.supervisor),
    }
