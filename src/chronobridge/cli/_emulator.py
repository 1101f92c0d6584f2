"""`chronobridge emulator` and, until the hub exists, `chronobridge demo`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """(to be written)"""
