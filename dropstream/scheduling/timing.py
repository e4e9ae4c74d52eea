"""When a channel runs next: stored schedule rules → the next fire time, stretched out by the
budget guard when a store is spending its allowance too fast. Pure apart from a cache."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from dropstream.scheduling.rules import RuleError, clean_rules, next_fire, rules_key


@lru_cache(maxsize=4096)
def _cleaned(raw_key: str) -> tuple[tuple[dict, ...], str] | None:
    try:
        rules = clean_rules(json.loads(raw_key))
    except RuleError:
        return None
    return tuple(rules), rules_key(rules)


def cleaned_rules(raw: Any) -> tuple[tuple[dict, ...], str] | None:
    """(rules, key) for stored rules, cached; None when the stored rules are invalid."""
    return _cleaned(json.dumps(raw or [], sort_keys=True, separators=(",", ":")))


def stretched(natural: datetime, interval: timedelta, now: datetime, factor: float,
              max_delay_minutes: int) -> datetime:
    """The next run under the stretch guard: ``interval`` (the rules' own gap here) ×
    ``factor`` after ``now``, never more than ``max_delay_minutes`` after ``now`` unless the
    natural schedule itself is later; never earlier than ``natural``."""
    if factor <= 1.0:
        return natural
    longest = timedelta(minutes=max_delay_minutes)
    return max(natural, now + min(interval * factor, max(interval, longest)))


def next_time_for(raw_rules: Any, now: datetime, tz: str | None, *,
                  stretch: tuple[float, int] | None = None) -> datetime | None:
    """The next fire after ``now`` of stored rules; None for no rules or invalid ones.
    ``stretch`` = (factor, max delay minutes) spaces runs out for the budget guard."""
    cleaned = cleaned_rules(raw_rules)
    if cleaned is None:
        return None
    rules, key = cleaned
    try:
        natural = next_fire(rules, now, tz, key=key)
    except ValueError:  # an unknown merchant zone: schedule in UTC rather than never
        tz = "UTC"
        natural = next_fire(rules, now, tz, key=key)
    if natural is None or stretch is None or stretch[0] <= 1.0:
        return natural
    following = next_fire(rules, natural, tz, key=key)
    interval = (following - natural) if following else timedelta(0)
    return stretched(natural, interval, now, *stretch)


