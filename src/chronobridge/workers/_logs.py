"""DBOS's log lines, redacted before any handler sees them.

DBOS logs exceptions with their text and traceback ("Step being automatically retried",
"Exception encountered in background workflow", tracebacks of schedule errors) and formats some
exception texts into the message itself. Our exceptions carry no patient data, but a driver
error can quote SQL parameters, so the `dbos` logger is allow-listed: a message that starts with
a known DBOS sentence about ids, counts or versions is kept; any other message is cut at its
first ": " (where DBOS appends details); exceptions are reduced to their class name. The result
is forwarded to the `chronobridge.workers.dbos` logger, so the application's logging setup
(structlog, level, destination) applies to it like to any other line.
"""

from __future__ import annotations

import logging

DBOS_LOGGER = "dbos"
FORWARD_LOGGER = "chronobridge.workers.dbos"
_REDACTED = " [details redacted]"

SAFE_PREFIXES = (
    "Initializing DBOS",
    "Executor ID:",
    "Application version:",
    "Application name:",
    "DBOS launched",
    "DBOS successfully shut down",
    "Recovering ",
    "No workflows to recover",
    "Registered ",
    "Listening to ",
    "Queue: ",
    "Resuming workflow",
    "Rewinding workflow",
    "Forking workflow",
    "Cancelling workflow",
    "Deleting workflow",
    "Step being automatically retried",
    "Stopping queue manager",
    "Attempting to shut down DBOS",
    "Contention detected in queue thread",
    "Current version",
    "Applying DBOS",
)


def redact_message(message: str) -> str:
    """The part of a DBOS log message that may be written anywhere."""
    first_line = message.split("\n", 1)[0]
    if first_line.startswith(SAFE_PREFIXES) and first_line == message:
        return message
    head, separator, _ = first_line.partition(": ")
    if separator or first_line != message:
        return head + _REDACTED
    return head


class RedactDbosRecords(logging.Filter):
    """Rewrites a record in place: allow-listed text, exception reduced to its class name."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact_message(record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            message += f" ({record.exc_info[0].__name__})"
        record.msg, record.args = message, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(FORWARD_LOGGER)
        if target.isEnabledFor(record.levelno):
            record.name = FORWARD_LOGGER
            target.handle(record)


def install(level: str | None = None) -> None:
    """Put the redactor on DBOS's logger before DBOS adds its own console handler.

    Idempotent; `level` None leaves the level alone. DBOS adds a console handler only to a
    logger that has none, so ours stays the only one; `propagate` is off because `_Forward`
    already hands every line on.
    """
    logger = logging.getLogger(DBOS_LOGGER)
    if not any(isinstance(f, RedactDbosRecords) for f in logger.filters):
        logger.addFilter(RedactDbosRecords())
    for handler in list(logger.handlers):
        if not isinstance(handler, _Forward):
            logger.removeHandler(handler)
    if not logger.handlers:
        logger.addHandler(_Forward())
    logger.propagate = False
    if level is not None:
        logger.setLevel(level)
