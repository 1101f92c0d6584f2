"""The writer process's side: `python -m chronobridge.ingress._writer_child FD`.

Started by `WriterProcess` with one end of a socket pair as file descriptor FD. The first frame
is its settings (database URL, encryption keys, busy timeout); it answers `("ready", pid)`, or
`("error", what)` and exits. Then, for each batch of arrivals, it answers `("ok", outcomes)` or
`("error", the error's class name)`: the batch was not stored. It ends when the socket closes
(its parent stopped or died). Ctrl-C in a terminal reaches the whole process group: this
process ignores it and lets its parent decide when it ends (after the last batch).

Nothing of a delivery is ever logged here: errors are logged by class name.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import Any

from chronobridge.errors import HubError
from chronobridge.ingress._inbox_batch import Arrival, BatchStore
from chronobridge.ingress._writer_process import read_frame_sync, write_frame_sync
from chronobridge.store import KeyRing, make_sync_engine
from chronobridge.workers import Database, Jobs

__all__ = ["main"]

log = logging.getLogger("chronobridge.ingress")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with socket.socket(fileno=int(argv[0])) as sock, sock.makefile("rwb") as stream:
        return _serve(stream)


def _serve(stream: Any) -> int:
    settings = read_frame_sync(stream)
    if settings is None:
        return 0
    try:
        store = _open(settings)
    except Exception as error:
        what = str(error) if isinstance(error, HubError) else type(error).__name__
        write_frame_sync(stream, ("error", what))
        return 1
    write_frame_sync(stream, ("ready", os.getpid()))
    try:
        while (arrivals := read_frame_sync(stream)) is not None:
            write_frame_sync(stream, _store(store, arrivals))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone: nothing was acknowledged for the batch in hand
    finally:
        store.engine.dispose()
        store.jobs.close()
    return 0


def _open(settings: dict[str, Any]) -> BatchStore:
    url, busy_timeout = settings["database_url"], float(settings["busy_timeout"])
    keys = KeyRing(settings["keys"])
    engine = make_sync_engine(url, busy_timeout=busy_timeout)
    return BatchStore(engine, Jobs(Database.parse(url), keys), keys)


def _store(store: BatchStore, arrivals: list[Arrival]) -> tuple[str, Any]:
    try:
        return ("ok", store.store(arrivals))
    except Exception as error:
        log.warning("Inbox write failed (%s); answering 503", type(error).__name__)
        return ("error", type(error).__name__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
