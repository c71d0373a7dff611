"""The hotmod language server: LSP in, engine calls, LSP out. It only translates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

from hotmod.core import __version__
from hotmod.core.filestamp import FileStamp, file_stamp
from hotmod.core.profile import ModuleProfile
from hotmod.core.project_root import workspace_root
from hotmod.core.report_files import save_report
from hotmod.core.report_markdown import Rendered
from hotmod.core.results import CheckReport, ModuleResult
from hotmod.core.syntax import syntax_diagnostics
from hotmod.core.worker_client import WorkerError
from lsprotocol import types
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

from . import convert
from .folders import Folder, Progress
from .protocol import HotmodProtocol
from .scheduler import SchedulerHooks
from .settings import Settings, parse_settings
from .stdio import PipeReader, can_read_async

if TYPE_CHECKING:
    from hotmod.core.live_apply import LiveDecision
    from hotmod.core.live_links import ApplyOutcome

    from .live import FolderLive

log = logging.getLogger(__name__)

UNTRUSTED_MESSAGE = (
    "hotmod: this workspace is not trusted, so none of its code is run: only syntax "
    "errors are reported. Trust it in your editor (or start `hotmod serve --trust`) "
    "to get import checks."
)


class HotmodServer(LanguageServer):
    def __init__(self, trust_all: bool = False) -> None:
        super().__init__(
            "hotmod",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=HotmodProtocol,
        )
        self.trust_all = trust_all
        self.init_settings = Settings()
        self.folders: dict[str, Folder] = {}
        # Documents the client has open, in the order it opened them.  Which of
        # them the user looks at is unknown: clients do not say (Helix sends no
        # didOpen when switching buffers).
        self.open_documents: dict[str, None] = {}
        # hotmod's own editor extensions show command results themselves
        # (``hotmodClient`` in initializationOptions); for other clients the
        # server shows them (``present``).
        self.client_shows_results = False
        self.shut_down = False  # the client asked for `shutdown`
        # The last non-empty diagnostics published per file, sent again when the
        # file is opened: some clients (eglot) drop those for closed files.
        self.shown: dict[str, tuple[str, list[types.Diagnostic]]] = {}
        # What a file's diagnostics are made of: its check's, and the refusals of
        # live reload that still stand (server/live.py).  Keyed like ``shown``.
        self.check_diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.live_diagnostics: dict[str, list[types.Diagnostic]] = {}
        # The running programs that take each trusted folder's changes, by folder path.
        self.live: dict[str, FolderLive] = {}
        self._status: tuple[str, str] | None = None  # the last status sent: state, message
        self._blocked: dict[str, list[str]] = {}  # per folder: the last "not applied" said
        self.loop: asyncio.AbstractEventLoop | None = None
        self._told: set[str] = set()  # messages shown once per session
        self._counts = (0, 0)  # modules and broken ones in the last status sent
        self._tasks: set[asyncio.Future[None]] = set()  # background tasks, kept alive
        self.folders_ready = asyncio.Event()  # set once `initialized` has opened the folders
        # The latest profile per file, with the file's stamp then: its hot-line
        # lenses show until the file changes.
        self.profiles: dict[str, tuple[FileStamp, ModuleProfile]] = {}

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio, reading stdin on the event loop (see ``stdio.py``)."""
        stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
        if not can_read_async(stdin, stdout):
            super().start_io(stdin, stdout)
            return
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=PipeReader(stdin),
                    protocol=self.protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.info("client connection lost: shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated

    def report_server_error(self, error: Exception, source: Any) -> None:
        # The client went away (editor quit): there is nobody to tell.
        if isinstance(error, (BrokenPipeError, ConnectionError)):
            log.debug("client connection lost: %s", error)
            return
        try:
            super().report_server_error(error, source)
        except OSError:  # reporting it over a dead pipe fails too
            log.debug("cannot report %r: client connection lost", error)

    # -- state ---------------------------------------------------------------
    @property
    def trusted(self) -> bool:
        return self.trust_all or bool(self.init_settings.trusted)

    def folder_for_path(self, path: str) -> Folder | None:
        path = os.path.abspath(path)
        matches = [f for f in self.folders.values() if f.contains(path)]
        return max(matches, key=lambda f: len(str(f.path)), default=None)

    def hooks(self, folder: Folder) -> SchedulerHooks:
        return SchedulerHooks(
            on_result=lambda result: self.publish_result(folder, result),
            on_removed=lambda name: self.clear_module(folder, name),
            on_run_start=lambda: self.send_status("checking"),
            on_run_end=lambda report: self.after_run(folder, report),
            on_run_failed=lambda exc: self.run_failed(folder, exc),
            open_modules=lambda: self.open_modules(folder),
        )

    def open_modules(self, folder: Folder) -> set[str]:
        """The folder's modules open in the editor: their verdicts come first."""
        engine = folder.engine
        if engine is None:
            return set()
        found = set()
        for uri in self.open_documents:
            path = convert.uri_to_path(uri)
            info = engine.module_for_path(path) if path and folder.contains(path) else None
            if info is not None:
                found.add(info.name)
        return found

    def tell_once(self, key: str, message: str, kind: types.MessageType) -> None:
        if key not in self._told:
            self._told.add(key)
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- folders -------------------------------------------------------------
    async def add_folder(self, uri: str, settings: Settings, check: bool = True) -> Folder | None:
        path = convert.uri_to_path(uri)
        if path is None or not os.path.isdir(path):
            self.tell(f"hotmod: cannot open workspace folder {uri}: not a local folder")
            return None
        root = workspace_root(Path(path))  # a package folder: its project's root
        if root != Path(path):
            log.info("workspace folder %s is a package: checking its project, %s", path, root)
        if str(root) in self.folders:
            return None  # two package folders of one project: it is open already
        folder = Folder(uri=uri, path=root, settings=settings)
        folder.open(self.hooks(folder))
        self.wire_warnings(folder)
        self.folders[str(folder.path)] = folder
        if folder.error:
            self.tell(f"hotmod: {folder.error}")
        elif check:
            await self.start_folder(folder)
        return folder

    async def start_folder(self, folder: Folder) -> None:
        if not self.trusted:
            self.tell_once("untrusted", UNTRUSTED_MESSAGE, types.MessageType.Warning)
            self.publish_syntax_only(folder)
            self.send_status("untrusted")
            return
        assert self.loop is not None
        self.publish_cached(folder)
        folder.watch(self.loop, self.watched_files_changed)
        self.update_live(folder)
        await self.check_folder(folder, title="hotmod: checking modules")

    def publish_cached(self, folder: Folder) -> None:
        """Last session's verdicts that still hold, at once, marked as cached: the check
        that follows verifies each and replaces it (see core/verdict_cache.py)."""
        if folder.engine is None:
            return
        try:
            cached = folder.engine.cached_results()
        except Exception:  # the cache is a shortcut: without it, the check still runs
            log.exception("cannot read the verdict cache of %s", folder.path)
            return
        for result in cached.values():
            self.publish_result(folder, result)
        if cached:
            self.send_status("checking", f"{len(cached)} cached verdicts shown, verifying them")

    def remove_folder(self, uri: str) -> None:
        path = convert.uri_to_path(uri)
        folder = self.folders.pop(str(workspace_root(Path(path))) if path else "", None)
        if folder is None:
            return
        self.stop_live(folder)
        for module_uri in set(folder.published.values()):
            self.publish(module_uri, [])
        folder.close()

    # -- checks ----------------------------------------------------------------
    async def check_folder(
        self,
        folder: Folder,
        title: str | None = None,
        refresh: bool = False,
        complete: bool = False,
    ) -> CheckReport | None:
        """Check every module of ``folder`` (after a rescan), with progress when asked.

        ``complete``: the report covers every module even when a change on
        disk superseded the run (a command's answer), see run_to_completion.
        """
        engine, scheduler = folder.engine, folder.scheduler
        if engine is None or scheduler is None or folder.error:
            return None
        if title:
            await self.begin_progress(folder, title)
        try:
            run = scheduler.run_to_completion if complete else scheduler.run
            if refresh:
                report = await run(
                    lambda cancel, deliver: (
                        engine.refresh(should_cancel=cancel, on_result=deliver).report
                    )
                )
            else:
                report = await run(
                    lambda cancel, deliver: engine.check(
                        None, should_cancel=cancel, on_result=deliver
                    )
                )
        except WorkerError as exc:
            folder.error = str(exc)
            self.tell(f"hotmod: {exc}")
            self.send_status("error", str(exc))
            return None
        finally:
            self.end_progress(folder)
        if report is not None:
            for name in report.removed:
                self.clear_module(folder, name)
        return report

    def watched_files_changed(self, folder: Folder, paths: list[str]) -> None:
        """Changes seen on disk (watcher or the client's file watching)."""
        paths = [p for p in paths if not folder.ignores(p)]
        if any(os.path.basename(p) == "pyproject.toml" for p in paths):
            self.background(self.reload_config(folder))
        code = [p for p in paths if not p.endswith("pyproject.toml")]
        if not folder.settings.reload_on_save:
            return  # the user reloads by command
        if code:
            self.files_changed(folder, code)

    def files_changed(self, folder: Folder, paths: list[str], save: bool = False) -> None:
        """Check files changed on disk; those checked are live reload's pending saves."""
        if folder.scheduler is None or not self.trusted or folder.error:
            return
        checked = folder.scheduler.files_changed(paths, save=save)
        live = self.live.get(str(folder.path))
        if live is not None and checked:
            live.saved(checked)

    async def reload_config(self, folder: Folder, settings: Settings | None = None) -> None:
        folder.reconfigure(settings or folder.settings, self.hooks(folder))
        self.wire_warnings(folder)
        if folder.error:
            self.tell(f"hotmod: {folder.error}")
            return
        if self.trusted:
            if folder.watcher is None:
                assert self.loop is not None
                folder.watch(self.loop, self.watched_files_changed)
            self.update_live(folder)
            await self.check_folder(folder, refresh=True)
        else:
            self.publish_syntax_only(folder)

    # -- publishing -------------------------------------------------------------
    def publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        """A file's diagnostics from its check (live reload's refusals are kept)."""
        key = _path_key(uri)
        if diagnostics:
            self.check_diagnostics[key] = diagnostics
        else:
            self.check_diagnostics.pop(key, None)
        self._send_diagnostics(key, uri)

    def _send_diagnostics(self, key: str, uri: str) -> None:
        diagnostics = self.check_diagnostics.get(key, []) + self.live_diagnostics.get(key, [])
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )
        if diagnostics:
            self.shown[key] = (uri, diagnostics)
        else:
            self.shown.pop(key, None)

    def document_opened(self, uri: str) -> None:
        self.open_documents[uri] = None
        known = self.shown.get(_path_key(uri))
        if known is not None:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=known[0], diagnostics=known[1])
            )

    def document_closed(self, uri: str) -> None:
        self.open_documents.pop(uri, None)

    def publish_result(self, folder: Folder, result: ModuleResult) -> None:
        engine = folder.engine
        dev_mode = engine.dev_mode if engine else False
        uri = convert.path_to_uri(result.path)
        diagnostics = [
            convert.lsp_diagnostic(d, cached=result.cached)
            for d in result.diagnostics
            if convert.visible(d, dev_mode)
        ]
        if diagnostics or result.name in folder.published:
            self.publish(uri, diagnostics)
        if diagnostics:
            folder.published[result.name] = uri
        else:
            folder.published.pop(result.name, None)
        progress = folder.progress
        if progress is not None:
            progress.done += 1
            percent = min(99, int(100 * progress.done / max(progress.total, 1)))
            if percent >= progress.last_percent + 5:
                progress.last_percent = percent
                self.work_done_progress.report(
                    progress.token,
                    types.WorkDoneProgressReport(
                        message=f"{progress.done}/{progress.total} {result.name}",
                        percentage=percent,
                    ),
                )

    def clear_module(self, folder: Folder, name: str) -> None:
        uri = folder.published.pop(name, None)
        if uri is not None:
            self.publish(uri, [])

    def publish_syntax_only(self, folder: Folder, paths: Iterable[str] | None = None) -> None:
        engine = folder.engine
        if engine is None:
            return
        modules = engine.modules
        wanted = None if paths is None else {os.path.abspath(p) for p in paths}
        for info in modules.values():
            if wanted is not None and str(info.path) not in wanted:
                continue
            diagnostics = [convert.lsp_diagnostic(d) for d in syntax_diagnostics(info)]
            if diagnostics or info.name in folder.published:
                self.publish(convert.path_to_uri(info.path), diagnostics)
            if diagnostics:
                folder.published[info.name] = convert.path_to_uri(info.path)
            else:
                folder.published.pop(info.name, None)

    def after_run(self, folder: Folder, report: CheckReport | None) -> None:
        if supports(self, "workspace.code_lens.refresh_support"):
            self.workspace_code_lens_refresh(None)
        live = self.live.get(str(folder.path))
        if live is not None and folder.scheduler is not None and not folder.scheduler.busy:
            # The saves this run checked (a newer save or a superseded run's
            # backlog means another run follows: that one decides).
            self.background(self.apply_saves(folder, live))
        busy = any(f.scheduler is not None and f.scheduler.busy for f in self.folders.values())
        if not busy:
            self.send_status("idle")

    def run_failed(self, folder: Folder, exc: Exception) -> None:
        """A run raised instead of reporting: the user hears of it, the folder goes on."""
        if isinstance(exc, WorkerError):
            folder.error = str(exc)
            self.tell(f"hotmod: {exc}")
            self.send_status("error", str(exc))
            return
        self.tell(
            f"hotmod: checking {folder.path.name} failed: {type(exc).__name__}: {exc} "
            "(a bug in hotmod; the server log has the details)"
        )

    def send_status(self, state: str, message: str = "", recount: bool = True) -> None:
        """``recount``: ask the engines for the module counts (else the last ones)."""
        self._status = (state, message)
        if state == "checking" or not recount:
            # The counts of the last status: asking the engines now would wait
            # for the check that is starting (their lock) and slow it down.
            modules, broken = self._counts
        else:
            modules = broken = 0
            for folder in self.folders.values():
                if folder.engine is not None:
                    status = folder.engine.status()
                    modules += status.module_count
                    broken += status.broken_count
            self._counts = (modules, broken)
        if not message:
            message = {
                "checking": "checking modules",
                "idle": f"{broken} broken modules" if broken else "all modules import",
                "untrusted": "workspace not trusted: syntax checks only",
            }.get(state, state)
        live = sum(len(f.processes()) for f in self.live.values())
        if live and state == "idle":
            message += f"; live in {live} process{'' if live == 1 else 'es'}"
        self.protocol.notify(
            "hotmod/status",
            {
                "state": state,
                "modules": modules,
                "broken": broken,
                "live": live,
                "message": message,
            },
        )

    # -- progress ----------------------------------------------------------------
    async def begin_progress(self, folder: Folder, title: str) -> None:
        if not supports(self, "window.work_done_progress") or folder.engine is None:
            return
        token = f"hotmod-{uuid.uuid4()}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception:  # the client said no: carry on without a bar
            log.debug("client refused progress token", exc_info=True)
            return
        folder.progress = Progress(token=token, total=len(folder.engine.modules))
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=False),
        )

    def end_progress(self, folder: Folder) -> None:
        progress, folder.progress = folder.progress, None
        if progress is not None:
            self.work_done_progress.end(
                progress.token,
                types.WorkDoneProgressEnd(message=f"checked {progress.done} modules"),
            )

    # -- code lenses ----------------------------------------------------------------
    def code_lenses(self, uri: str) -> list[types.CodeLens]:
        path = convert.uri_to_path(uri)
        folder = self.folder_for_path(path) if path else None
        if folder is None or folder.engine is None or path is None:
            return []
        engine = folder.engine
        info = engine.module_for_path(path)
        result = engine.result(info.name) if info else None
        if info is None or result is None:
            return []
        lenses = [convert.module_lens(result, engine.reloads(info.name), engine.trend(info.name))]
        live = self.live.get(str(folder.path))
        state = live.module_state(info.name) if live is not None else None
        if state is not None:
            lenses.append(convert.live_lens(*state, uri))
        parsed = engine.parsed(info.name)
        if parsed is not None:
            lenses += convert.import_lenses(parsed, import_costs(folder), info.name)
        profiled = self.profiles.get(str(info.path))
        if profiled is not None and profiled[0] == file_stamp(info.path):
            lenses += convert.hot_line_lenses(profiled[1])
        return lenses

    # -- profiles ------------------------------------------------------------------
    def remember_profile(self, profile: ModuleProfile) -> None:
        self.profiles[str(profile.path)] = (file_stamp(profile.path), profile)
        if supports(self, "workspace.code_lens.refresh_support"):
            self.workspace_code_lens_refresh(None)

    def open_external(self, path: Path) -> None:
        """Ask the editor to open ``path`` in the system's browser (window/showDocument)."""
        self.show_document(path, external=True)

    def show_document(self, path: Path, external: bool, refused: str | None = None) -> bool:
        """Ask the editor to show ``path`` (window/showDocument); False if it cannot.

        ``refused``: told the user when the client answers that it did not.
        """
        if not supports(self, "window.show_document.support"):
            return False
        params = types.ShowDocumentParams(
            uri=convert.path_to_uri(path), external=external, take_focus=True
        )

        async def show() -> None:
            try:
                answer = await asyncio.wait_for(self.window_show_document_async(params), 30)
                shown = answer.success
            except Exception:  # e.g. no browser: the path is in the result
                log.info("could not open %s in the editor", path, exc_info=True)
                shown = False
            if not shown and refused:
                self.tell(refused, types.MessageType.Info)

        self.background(show())
        return True

    def present(self, rendered: Rendered, root: Path) -> None:
        """Show a command's result in a client without a hotmod extension.

        A one-line result is a message; a report is written to a Markdown
        file that the editor is asked to open, else a message names the file.
        """
        if self.client_shows_results:
            return
        info = types.MessageType.Info
        if rendered.brief:
            self.tell(f"hotmod: {rendered.message}", info)
            return
        try:
            path = save_report(root, rendered.name, rendered.markdown)
        except OSError as exc:
            self.tell(f"hotmod: {rendered.message} (cannot write the report: {exc})", info)
            return
        named = f"hotmod: {rendered.message}. The report is in {path}"
        if not self.show_document(path, external=False, refused=named):
            self.tell(named, info)

    def wire_warnings(self, folder: Folder) -> None:
        """Engine warnings (from any thread) become warning messages in the editor."""
        engine, loop = folder.engine, self.loop
        if engine is None or loop is None:
            return

        def warn(message: str) -> None:
            loop.call_soon_threadsafe(self.tell, f"hotmod: {message}", types.MessageType.Warning)

        engine.on_warning = warn

    def close_all(self) -> None:
        for folder in list(self.folders.values()):
            self.stop_live(folder, show=False)
            folder.close()
        self.folders.clear()

    def background(self, work: Any) -> None:
        """Run a coroutine on the loop, kept alive until it is done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- live reload (server/live.py) ----------------------------------------------
    def update_live(self, folder: Folder) -> None:
        """Take the folder's running programs as its settings say (trusted folders only)."""
        engine = folder.engine
        if not self.trusted or engine is None or folder.error or not engine.config.live_reload:
            self.stop_live(folder)
            return
        if str(folder.path) in self.live:
            return
        from hotmod.live.rendezvous import LiveError

        from .live import FolderLive

        loop = self.loop
        assert loop is not None

        def changed() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: shutting down
                loop.call_soon_threadsafe(self.live_changed)

        def heard(outcome: ApplyOutcome) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.live_heard, folder, outcome)

        try:
            self.live[str(folder.path)] = FolderLive(
                folder.path, engine, on_change=changed, on_heard=heard
            )
        except (LiveError, OSError) as exc:
            self.tell_once("live", f"hotmod: live reload is off: {exc}", types.MessageType.Warning)

    def stop_live(self, folder: Folder, show: bool = True) -> None:
        """``show``: say so in the editor (not when the server is shutting down)."""
        live = self.live.pop(str(folder.path), None)
        if live is not None:
            live.close()
            if show:
                self.live_changed()

    async def apply_saves(self, folder: Folder, live: FolderLive) -> None:
        try:
            decision = await live.checked()
        except Exception:  # hotmod's bug: the checks go on without live reload
            log.exception("live reload of %s failed", folder.path)
            return
        if decision is not None:
            self.live_decided(folder, decision)

    def live_decided(self, folder: Folder, decision: LiveDecision) -> None:
        """Say what became of the saves: one line per program, in the log."""
        from hotmod.core.live_apply import describe

        lines = describe(decision, folder.path)
        if not decision.outcomes:
            # Saves kept back by a failing check are decided again after every
            # run until it passes: say so once.
            if self._blocked.get(str(folder.path)) == lines:
                return
            self._blocked[str(folder.path)] = lines
        else:
            self._blocked.pop(str(folder.path), None)
        for line in lines:
            applied = line.startswith(("applied", "  "))
            log.log(logging.INFO if applied else logging.WARNING, "live: %s", line)
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Info if applied else types.MessageType.Warning,
                    message=f"hotmod live: {line}",
                )
            )

    def live_heard(self, folder: Folder, outcome: ApplyOutcome) -> None:
        """Another controller (``hotmod run``) applied a change to a program."""
        from hotmod.core.live_apply import LiveDecision

        self.live_decided(folder, LiveDecision(outcome.files, (outcome,)))

    def live_changed(self) -> None:
        """The programs, what they loaded, or the refusals changed: show it."""
        self.show_live_refusals()
        if supports(self, "workspace.code_lens.refresh_support"):
            self.workspace_code_lens_refresh(None)
        if self._status is not None:
            self.send_status(*self._status, recount=False)

    def show_live_refusals(self) -> None:
        """A warning where a change was refused (it needs a restart), until that file
        is applied or the program exits."""
        wanted: dict[str, list[types.Diagnostic]] = {}
        for live in self.live.values():
            for path, refusals in live.refusals().items():
                wanted.setdefault(os.path.abspath(path), []).extend(
                    convert.live_diagnostic(r) for r in refusals
                )
        for key in set(wanted) | set(self.live_diagnostics):
            diagnostics = wanted.get(key, [])
            if diagnostics == self.live_diagnostics.get(key, []):
                continue
            if diagnostics:
                self.live_diagnostics[key] = diagnostics
            else:
                self.live_diagnostics.pop(key, None)
            uri = self.shown[key][0] if key in self.shown else convert.path_to_uri(key)
            self._send_diagnostics(key, uri)

    def exit_now(self) -> NoReturn:
        """The ``exit`` notification: leave at once, with LSP's exit code.

        Once workers, watchers and the load history are closed nothing is
        left to do, but the interpreter's own teardown (joining idle pool
        threads, freeing every module) takes a few hundred milliseconds, and
        clients kill a server that is not gone soon after ``exit`` (eglot
        after 0.1 s).
        """
        self.close_all()  # nothing left after `shutdown`; all of it without one
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0 if self.shut_down else 1)


def _path_key(uri: str) -> str:
    """One key per file, however the client spells its URI."""
    path = convert.uri_to_path(uri)
    return os.path.abspath(path) if path else uri


def import_costs(folder: Folder) -> dict[str, float]:
    """Cost of importing each module: cold third-party imports (measured when the
    worker warmed them) and project modules' cumulative load times."""
    engine = folder.engine
    if engine is None:
        return {}
    costs: dict[str, float] = {}
    warm = engine.warm_report()
    for name, info in warm.items():
        if isinstance(info, dict) and info.get("ok"):
            costs[name] = float(info.get("ms", 0.0))
    for name, result in engine.results().items():
        costs[name] = result.load_ms
    return costs


def supports(server: LanguageServer, dotted: str) -> bool:
    """Whether the client announced a capability, e.g. ``"window.work_done_progress"``."""
    value: Any = server.client_capabilities
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return False
    return bool(value)


def settings_from(raw: Any, source: str, server: HotmodServer) -> Settings:
    """Parsed settings; each bad key is shown to the user and left out."""
    settings, errors = parse_settings(raw, source)
    for error in errors:
        server.tell(f"hotmod: {error}")
    return settings
