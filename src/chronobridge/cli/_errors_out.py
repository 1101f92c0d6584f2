"""The one place where a failure becomes what the user reads: `Error: <what happened>. <fix>`
on stderr and a non-zero exit code, never a traceback (unless --debug asked for one).

A HubError's message and hint never carry a token, a secret or patient data (errors.py). Any
other exception is shown by its type name only: its text could hold anything.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer

from chronobridge.errors import HubError, ServerError

__all__ = ["DEBUG_ENV", "fail", "run", "sentence"]

T = TypeVar("T")
DEBUG_ENV = "CHRONOBRIDGE_DEBUG"
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


# Hints written for background jobs ("retried later") say what a person at the prompt can do.
_AT_THE_PROMPT: dict[type[HubError], str] = {
    ServerError: "DrChrono is having trouble; try again in a few minutes.",
}


def sentence(error: HubError) -> str:
    """`<message>. <hint>`: what happened, then what to do."""
    text = str(error).strip().rstrip(".").replace(". (", " (")  # "Failed. (GET /x -> 502)"
    hint = error.hint.strip()
    if hint == type(error).hint:
        hint = _AT_THE_PROMPT.get(type(error), hint)
    return f"{text}. {hint}" if hint else f"{text}."


def fail(message: str, *, code: int = EXIT_ERROR) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; turn every failure into one line on stderr."""
    try:
        return asyncio.run(_awaited(work))
    except HubError as error:
        fail(sentence(error))
    except KeyboardInterrupt:
        fail("Interrupted.", code=EXIT_INTERRUPTED)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        if debugging():
            raise
        fail(
            f"Unexpected {type(error).__name__}. Run the command again with --debug to see "
            "where it happened, and report it."
        )


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
