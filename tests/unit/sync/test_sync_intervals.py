"""Adaptive poll intervals."""

from __future__ import annotations

from chronobridge.sync import IntervalPolicy, next_interval

POLICY = IntervalPolicy()


def test_changes_halve_silence_doubles_within_bounds() -> None:
    assert next_interval(120, changed=True, scan=False, policy=POLICY) == 60
    assert next_interval(40, changed=True, scan=False, policy=POLICY) == POLICY.minimum
    assert next_interval(120, changed=False, scan=False, policy=POLICY) == 240
    assert next_interval(3000, changed=False, scan=False, policy=POLICY) == POLICY.maximum


def test_scans_have_their_own_longer_bounds() -> None:
    assert next_interval(100, changed=True, scan=True, policy=POLICY) == POLICY.scan_minimum
    assert next_interval(20_000, changed=False, scan=True, policy=POLICY) == POLICY.scan_maximum


def test_a_thin_budget_stretches_every_interval() -> None:
    full = next_interval(120, changed=False, scan=False, budget_share_left=0.9, policy=POLICY)
    half = next_interval(120, changed=False, scan=False, budget_share_left=0.5, policy=POLICY)
    thin = next_interval(120, changed=False, scan=False, budget_share_left=0.25, policy=POLICY)
    empty = next_interval(120, changed=False, scan=False, budget_share_left=0.0, policy=POLICY)
    assert full == half == 240
    assert thin == 480
    assert empty == 2400  # capped at a 10x stretch (share floor of 5 %)
