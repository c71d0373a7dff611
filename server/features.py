"""LSP notifications and requests the server answers, registered on a HotmodServer."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from hotmod.core.project_root import project_root
from lsprotocol import types

from . import commands, convert
from .server import HotmodServer, settings_from, supports
from .settings import Settings

log = logging.getLogger(__name__)

# initializationOptions key by which hotmod's own editor extensions say that
# they show command results themselves (docs/commands.md).
CLIENT_KEY = "hotmodClient"


def build_server(trust_all: bool = False) -> HotmodServer:
    server = HotmodServer(trust_all=trust_all)
    _register_features(server)
    commands.register_all(server)
    return server


def _register_features(server: HotmodServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: HotmodServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.init_settings = settings_from(options, "initializationOptions", ls)
        extension = options.get(CLIENT_KEY) if isinstance(options, dict) else None
        ls.client_shows_results = isinstance(extension, str) and bool(extension)
        client = params.client_info.name if params.client_info else "unknown"
        log.info("client: %s%s", client, f" with {extension}" if ls.client_shows_results else "")

    @server.feature(types.INITIALIZED)
    async def initialized(ls: HotmodServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        folders = _initial_folders(ls)
        if _supports_dynamic_watch(ls):
            await _register_file_watching(ls)
        try:
            opened = [
                await ls.add_folder(uri, await _folder_settings(ls, uri), check=False)
                for uri in folders
            ]
        finally:
            ls.folders_ready.set()
        for folder in opened:
            if folder is not None and not folder.error:
                await ls.start_folder(folder)
        if not folders:
            ls.send_status("idle", "no workspace folder open")

    opening = asyncio.Lock()  # one document at a time may open the project

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: HotmodServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.document_opened(params.text_document.uri)
        if not ls.folders:
            async with opening:
                await _open_document_project(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HotmodServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.document_closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: HotmodServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        path = convert.uri_to_path(uri)
        if path is None:
            return  # untitled: and friends have nothing on disk to import
        folder = ls.folder_for_path(path)
        if folder is None:
            return
        if os.path.basename(path) == "pyproject.toml":
            ls.watched_files_changed(folder, [path])
            return
        if not path.endswith(".py"):
            return
        if not ls.trusted:
            ls.publish_syntax_only(folder, [path])
            return
        if folder.settings.reload_on_save:
            ls.files_changed(folder, [path], save=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: HotmodServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        by_folder: dict[str, list[str]] = {}
        for change in params.changes:
            path = convert.uri_to_path(change.uri)
            folder = ls.folder_for_path(path) if path else None
            if folder is not None and path is not None:
                by_folder.setdefault(str(folder.path), []).append(path)
        for key, paths in by_folder.items():
            ls.watched_files_changed(ls.folders[key], paths)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: HotmodServer, params: types.DidChangeConfigurationParams
    ) -> None:
        pushed = params.settings if isinstance(params.settings, dict) else None
        for folder in list(ls.folders.values()):
            settings = await _folder_settings(ls, folder.uri, pushed)
            await ls.reload_config(folder, settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(
        ls: HotmodServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        for removed in params.event.removed:
            ls.remove_folder(removed.uri)
        for added in params.event.added:
            await ls.add_folder(added.uri, await _folder_settings(ls, added.uri))

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: HotmodServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        return ls.code_lenses(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HotmodServer, params: None) -> None:
        ls.close_all()
        ls.shut_down = True

    @server.feature(types.EXIT)
    def exit_(ls: HotmodServer, params: None) -> None:
        ls.exit_now()


def _initial_folders(ls: HotmodServer) -> list[str]:
    params = ls.protocol.workspace
    folders = [f.uri for f in params.folders.values()] if params.folders else []
    if not folders and params.root_uri:
        folders = [params.root_uri]
    return folders


async def _open_document_project(ls: HotmodServer, uri: str) -> None:
    """No workspace folder (``rootUri: null``, as Helix sends outside a repository):
    the project of the first document opened becomes the workspace."""
    await ls.folders_ready.wait()
    path = convert.uri_to_path(uri)
    if ls.folders or path is None or not os.path.isfile(path):
        return
    root_uri = convert.path_to_uri(project_root(Path(path)))
    await ls.add_folder(root_uri, await _folder_settings(ls, root_uri))


async def _folder_settings(
    ls: HotmodServer, uri: str, pushed: dict[str, Any] | None = None
) -> Settings:
    """initializationOptions, overlaid by what the client's configuration says now."""
    base = ls.init_settings
    raw: Any = None
    if supports(ls, "workspace.configuration"):
        try:
            answer = await ls.workspace_configuration_async(
                types.ConfigurationParams(
                    items=[types.ConfigurationItem(scope_uri=uri, section="hotmod")]
                )
            )
            raw = answer[0] if answer else None
        except Exception:
            log.debug("workspace/configuration failed", exc_info=True)
    if raw is None and pushed is not None:
        raw = pushed
    if not isinstance(raw, dict) or not raw:
        return base
    settings = settings_from(raw, "settings", ls)
    return Settings(
        engine={**base.engine, **settings.engine},
        # A configuration answer without the key keeps initializationOptions' value.
        reload_on_save=settings.reload_on_save
        if _says(raw, "reloadOnSave")
        else base.reload_on_save,
        trusted=base.trusted,  # trust comes from the client's trust UI, at start
    )


def _says(raw: dict[str, Any], key: str) -> bool:
    nested = raw.get("hotmod")
    return key in (nested if isinstance(nested, dict) else raw)


def _supports_dynamic_watch(ls: HotmodServer) -> bool:
    return supports(ls, "workspace.did_change_watched_files.dynamic_registration")


async def _register_file_watching(ls: HotmodServer) -> None:
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern="**/*.py"),
            types.FileSystemWatcher(glob_pattern="**/pyproject.toml"),
        ]
    )
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id="hotmod-watched-files",
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=options,
                    )
                ]
            )
        )
    except Exception:
        log.debug("client refused file watching registration", exc_info=True)
