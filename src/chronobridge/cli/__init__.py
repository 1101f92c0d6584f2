"""The `chronobridge` command line."""

from __future__ import annotations

import typer

from chronobridge.cli import (
    _actions,
    _appointments,
    _apps,
    _budget,
    _call,
    _common,
    _config,
    _connect,
    _connections,
    _emulator,
    _errors,
    _keys,
    _matches,
    _patients,
    _store,
    _sync,
    _worker,
)

app = typer.Typer(
    name="chronobridge",
    help="Integration hub for the DrChrono EHR, with a local DrChrono emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.callback()(_common.root)
_emulator.register(app)
_worker.register(app)
_apps.register(app)
_connect.register(app)
_connections.register(app)
_call.register(app)
_budget.register(app)
_actions.register(app)
_keys.register(app)
_config.register(app)
_patients.register(app)
_appointments.register(app)
_matches.register(app)
_sync.register(app)
_store.register(app)
_errors.register(app)


def main() -> None:
    app()
