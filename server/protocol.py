"""pygls' protocol, adjusted to a server that declines document sync and logs quietly.

- ``$/cancelRequest`` reaches ``workspace/executeCommand``: pygls runs command
  handlers from its built-in executeCommand handler under a fresh internal
  id, so a client's cancel for the request never finds them.  Command
  handlers register their task under the request's own id (pygls keeps it in
  a context variable, ``protocol.msg_id``) and are cancelled here.
- Open documents are not copied: the server reads files from disk, and
  pygls' document store logs an error for every ``didChange`` when sync is
  declined (clients such as eglot send them anyway).
- A request answered with a JSON-RPC error the client gets anyway (a
  rejected argument, a cancelled command) is one log line, not a traceback;
  a notification the server has no handler for is not logged above debug.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from concurrent.futures import Future
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import MsgId
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)

_Forward = Generator[tuple[Any, tuple[Any, ...], None], Any, None]


class HotmodProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_tasks: dict[Any, asyncio.Task[Any]] = {}

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        task = self.command_tasks.pop(msg_id, None)
        if task is not None:
            task.cancel()
            return
        super()._handle_cancel_notification(msg_id)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        known = method_name in self.fm.builtin_features or method_name in self.fm.features
        if not known and method_name != types.CANCEL_REQUEST:
            log.debug("ignored notification %s", method_name)
            return
        super()._handle_notification(method_name, params)

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        error = None if future.cancelled() else future.exception()
        if not isinstance(error, JsonRpcException):
            super()._send_handler_result(future, msg_id=msg_id)
            return
        self._request_futures.pop(msg_id, None)
        log.info("answered with error %s: %s", error.code, error.message)
        self._send_response(msg_id, error=error.to_response_error())

    # -- documents: forwarded to the server's handlers, never stored --------------
    def _forward(self, method: str, params: Any) -> _Forward:
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> _Forward:
        yield from self._forward(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> _Forward:
        yield from self._forward(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> _Forward:
        yield from self._forward(types.TEXT_DOCUMENT_DID_CLOSE, params)
