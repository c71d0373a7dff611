"""``hotmod serve``: start the language server on stdio or TCP (logging set up first)."""

from __future__ import annotations

import argparse
import logging
import sys

from .features import build_server


def _drop_lost_connection_noise(record: logging.LogRecord) -> bool:
    """pygls logs every failed write once the editor has quit; one line is enough."""
    error = record.exc_info[1] if record.exc_info else None
    if (
        isinstance(error, (BrokenPipeError, ConnectionError))
        or "BrokenPipeError" in record.getMessage()
    ):
        if getattr(_drop_lost_connection_noise, "said", False):
            return False
        _drop_lost_connection_noise.said = True  # type: ignore[attr-defined]
        record.msg, record.args, record.exc_info = "client connection lost", (), None
    return True


def serve(args: argparse.Namespace) -> int:
    handlers: list[logging.Handler] = []
    if args.log_file:
        handlers.append(logging.FileHandler(args.log_file, encoding="utf-8"))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))  # stdout carries the protocol
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )
    for handler in handlers:
        handler.addFilter(_drop_lost_connection_noise)
    if args.log_level != "debug":
        # pygls logs every message it sends at INFO: that is debugging output.
        logging.getLogger("pygls").setLevel(logging.WARNING)
    server = build_server(trust_all=args.trust)
    try:
        if args.tcp:
            host, _, port = args.tcp.rpartition(":")
            if not port.isdigit():
                print(f"hotmod: error: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
                return 2
            server.start_tcp(host or "127.0.0.1", int(port))
        else:
            server.start_io()
    finally:
        server.close_all()  # no worker outlives the server
    return 0
