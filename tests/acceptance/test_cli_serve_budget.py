"""`chronobridge serve` exports the shared budget as every process spends it: calls made by
other processes (here the CLI's) show in `/metrics` with their real values, read from the store
when Prometheus scrapes."""

from __future__ import annotations

from pathlib import Path

import httpx2
from cli_rig import Cli, emulator

from support.servers import free_port


def _scrape(url: str) -> str:
    answer = httpx2.get(f"{url}/metrics")
    assert answer.status_code == 200
    return answer.text


def test_metrics_show_the_budget_the_cli_spent(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path / "home", emu.url)
        with cli.serving(free_port(), "--no-worker") as url:
            assert 'chronobridge_budget_used{app="default"} 0.0' in _scrape(url)
            assert cli("connect").code == 0  # the code exchange, /api/users/current and its 302
            for _ in range(2):
                called = cli("call", "GET", "/api/doctors")
                assert called.code == 0, called.err
            text = _scrape(url)
    assert 'chronobridge_budget_limit{app="default"} 500.0' in text
    assert 'chronobridge_budget_used{app="default"} 5.0' in text
    assert 'chronobridge_budget_used_by_priority{app="default",priority="interactive"} 5.0' in text
    assert 'chronobridge_budget_used_by_priority{app="default",priority="poll"} 0.0' in text
    assert 'chronobridge_budget_parked{app="default"} 0.0' in text
