"""Small pure parts: the budget wait policy, error classes of the API log, the metrics'
exposition, the CLI's error sentence and tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chronobridge.cli._common import table
from chronobridge.cli._errors_out import sentence
from chronobridge.connections import HubMetrics, WaitPolicy, error_class
from chronobridge.domain.budget import Priority
from chronobridge.errors import InvalidClient, NeedsReconnect
from chronobridge.store import BudgetUsage
from chronobridge.store._budget import wait_words

NOW = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)


def test_interactive_callers_never_wait_background_ones_up_to_the_bound() -> None:
    policy = WaitPolicy(background_seconds=90)
    assert policy.bound(Priority.INTERACTIVE) == 0
    assert {policy.bound(p) for p in (Priority.WEBHOOK, Priority.POLL, Priority.BACKFILL)} == {90}


def test_statuses_become_the_error_class_the_client_raises() -> None:
    assert [error_class(s) for s in (200, 204, 302)] == [None, None, None]
    assert error_class(0) == "TransportError"
    assert error_class(401) == "Unauthorized"
    assert error_class(429) == "RateLimited"
    assert error_class(503) == "ServerError"
    assert error_class(418) == "UnexpectedResponse"


def test_metrics_show_the_budget_and_the_calls() -> None:
    metrics = HubMetrics()
    usage = BudgetUsage(
        app_id=1, window_start=NOW.replace(minute=0), window_end=NOW.replace(minute=0) +
        timedelta(hours=1), limit=500, used=7,
        by_priority={Priority.INTERACTIVE: 5, Priority.WEBHOOK: 0, Priority.POLL: 2,
                     Priority.BACKFILL: 0},
        parked_until=NOW + timedelta(seconds=30),
    )  # fmt: skip
    metrics.observe_usage("main", usage)
    metrics.call("main", 200, Priority.POLL)
    metrics.refused("main", Priority.BACKFILL)
    text = metrics.exposition()
    assert 'chronobridge_budget_used{app="main"} 7.0' in text
    assert 'chronobridge_budget_used_by_priority{app="main",priority="poll"} 2.0' in text
    assert 'chronobridge_budget_parked{app="main"} 1.0' in text
    assert 'chronobridge_api_calls_total{app="main",priority="poll",status="200"} 1.0' in text
    assert 'chronobridge_budget_refusals_total{app="main",priority="backfill"} 1.0' in text


def test_an_error_becomes_one_sentence_and_its_fix() -> None:
    error = NeedsReconnect("The connection of staff1 was deauthorized", hint="Run x.")
    assert sentence(error) == "The connection of staff1 was deauthorized. Run x."
    assert sentence(InvalidClient()).startswith("DrChrono does not recognise this client id")


def test_tables_line_up_and_show_missing_values_as_a_dash() -> None:
    assert table(("A", "LONGER"), [(1, None), ("wide value", "x")]).splitlines() == [
        "A           LONGER",
        "1           -",
        "wide value  x",
    ]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "1 s"), (45, "45 s"), (119, "119 s"), (150, "2 min"), (3599, "1 h"),
     (3900, "1 h 5 min")],
)  # fmt: skip
def test_waits_are_said_as_a_person_reads_them(seconds: float, words: str) -> None:
    assert wait_words(seconds) == words
