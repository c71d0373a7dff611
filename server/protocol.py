"""pygls' protocol, with ``$/cancelRequest`` reaching ``workspace/executeCommand``.

pygls runs command handlers from its built-in executeCommand handler under a
fresh internal id, so a client's cancel for the request never finds them.
Command handlers register their task under the request's own id (pygls keeps
it in a context variable, ``protocol.msg_id``) and are cancelled here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pygls.protocol import LanguageServerProtocol


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
