"""A temporary local HTTP listener for DrChrono's redirect back to the CLI.

Bound to the redirect URI's host and port, it answers the one path of the redirect URI, hands
the query to the waiting command and tells the browser it can close the window. Anything else
is a 404. When the port is taken (`PortInUse`), `chronobridge connect` looks for a
`chronobridge serve` of the same hub there, whose /oauth/callback completes the flow.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

from chronobridge.errors import ConfigError

__all__ = ["LOCAL_HOSTS", "PortInUse", "callback_listener", "is_local"]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
PAGE = b"chronobridge received DrChrono's answer. You can close this window.\n"


class PortInUse(ConfigError):
    """Something else listens on the redirect URI's port."""

    hint = (
        "Stop whatever uses that port, or finish with chronobridge connect --complete "
        "'<the address the browser landed on>'."
    )


def is_local(redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOCAL_HOSTS


class _Handler(BaseHTTPRequestHandler):
    path_wanted: ClassVar[str] = "/"
    answers: ClassVar[queue.Queue[str]]

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.path_wanted:
            self.send_error(404)
            return
        self.answers.put(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request line carries the code and the state."""


@contextlib.contextmanager
def callback_listener(redirect_uri: str) -> Iterator[queue.Queue[str]]:
    """Listen on the redirect URI until the block ends; yields the queue of callback paths."""
    parts = urlsplit(redirect_uri)
    answers: queue.Queue[str] = queue.Queue()
    handler = type("CallbackHandler", (_Handler,), {"path_wanted": parts.path or "/",
                                                     "answers": answers})  # fmt: skip
    host = (parts.hostname or "127.0.0.1").strip("[]")
    try:
        server = ThreadingHTTPServer((host, parts.port or 80), handler)
    except OSError as exc:
        raise PortInUse(
            f"Cannot listen on {parts.netloc} for DrChrono's answer ({type(exc).__name__})"
        ) from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield answers
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
