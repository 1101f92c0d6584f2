"""Keep query strings and DrChrono's response headers out of the HTTP libraries' own logs.

httpx2 logs every request at INFO with the full URL (`?last_name=...` is patient data; the
authorize URL carries the OAuth `state`), and httpcore2's DEBUG traces print response headers.
`guard_library_logs` installs two filters on those loggers; they rewrite or drop only those
records and leave every other record alone. The CLI installs them at start-up, before any
request of any command (the OAuth flow's plain HTTP calls too); the client again when it is
created, for library users. Installing twice is harmless.
"""

from __future__ import annotations

import logging

import httpx2

__all__ = ["guard_library_logs"]

_CORE_LOGGERS = ("httpcore2.http11", "httpcore2.http2", "httpcore2.connection")


class _PathOnly(logging.Filter):
    """httpx2's "HTTP Request: GET <url>" keeps the path; the query string goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


class _NoResponseHeaders(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "response_headers" not in str(record.msg)


def guard_library_logs() -> None:
    _install(logging.getLogger("httpx2"), _PathOnly)
    for name in _CORE_LOGGERS:
        _install(logging.getLogger(name), _NoResponseHeaders)


def _install(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(existing, kind) for existing in logger.filters):
        logger.addFilter(kind())


def _path_only(arg: object) -> object:
    if isinstance(arg, httpx2.URL):
        return str(arg.copy_with(query=None, fragment=None))
    return arg
