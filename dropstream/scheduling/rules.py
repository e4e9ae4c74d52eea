"""Schedule rules: validation, next fire time and fire counts, in the merchant's time zone.

Pure functions: no database, no clock. A channel's schedule is a list of *stacked* rules; it
fires whenever any rule fires (specs/dropstream-reference.md §3.2). Rule shapes (cleaned form)::

    {"type": "minutely", "every": N}                      every N minutes (1–1440)
    {"type": "hourly", "every": N, "minute": M}           every N hours (1–24) at minute M
    {"type": "daily", "every": N, "at": "HH:MM"}          at HH:MM every N days (1–365)
    {"type": "flexible", "weekdays": [0..6], "start_hour": S, "end_hour": E, "every": N}
                                                          on those weekdays (0 = Monday), from
                                                          S:00 to the end of hour E, every N min

Semantics, chosen so every rule is stateless and survives DST:

* **minutely** counts real elapsed minutes from local midnight, restarting each local day (so
  ``every 15`` fires at :00, :15, :30, :45; a 23- or 25-hour DST day gets 92 or 100 runs, each
  exactly 15 minutes apart).
* **hourly** and **daily** name wall-clock times. A time skipped by a spring-forward gap fires
  at the same offset after the gap (02:30 → 03:30 EDT), like cron. A time that occurs twice in
  a fall-back hour fires once for daily (the first occurrence) and on both occurrences for
  hourly, so ``hourly every 1`` never leaves a two-hour hole.
* **daily every N** fires on local dates whose ordinal is divisible by N (a fixed cycle).
* **flexible**: the window opens on each chosen weekday at ``start_hour``:00 and closes at the end
  of hour ``end_hour`` (the next day when ``end_hour < start_hour``); runs every N real minutes
  from the opening. 0–23 (or both omitted) means the whole day.

Per-day tables of fires are cached (``_day_fires``), so ``next_fire`` is a bisect: the scheduler
computes one per dispatch for thousands of channels.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dropstream.scheduling.errors import InvalidSchedule

RULE_TYPES = ("minutely", "hourly", "daily", "flexible")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# specs/dropstream-reference.md §3.3: below these the user is warned, not blocked.
MINIMUM_MINUTES = {"sales_order": 15, "shipment": 15, "inventory": 60}
# A daily rule may skip at most this many days; a flexible rule fires at least weekly.
MAX_EVERY_DAYS = 365
_SEARCH_DAYS = MAX_EVERY_DAYS + 9

Rule = dict[str, Any]


# Rule validation errors; callers may catch either name.
RuleError = InvalidSchedule


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _int_field(rule: dict, name: str, where: str, errors: dict[str, str], *, low: int, high: int,
               default: int | None = None) -> int | None:
    value = rule.get(name, default)
    key = f"{where}.{name}"
    if value is None:
        errors[key] = f"{name} is required"
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[key] = f"{name} must be a whole number from {low} to {high}"
        return None
    try:
        number = int(value)
    except ValueError:
        errors[key] = f"{name} must be a whole number from {low} to {high}, not {value!r}"
        return None
    if not low <= number <= high:
        errors[key] = f"{name} must be from {low} to {high}, not {number}"
        return None
    return number


def _clock_field(rule: dict, where: str, errors: dict[str, str]) -> str | None:
    value = rule.get("at", "00:00")
    key = f"{where}.at"
    if not isinstance(value, str):
        errors[key] = "at must be a time of day as HH:MM, e.g. 01:00"
        return None
    try:
        parsed = datetime.strptime(value.strip(), "%H:%M")
    except ValueError:
        errors[key] = f"at must be a time of day as HH:MM (00:00–23:59), not {value!r}"
        return None
    return parsed.strftime("%H:%M")


def _weekdays_field(rule: dict, where: str, errors: dict[str, str]) -> list[int] | None:
    value = rule.get("weekdays", list(range(7)))
    key = f"{where}.weekdays"
    if not isinstance(value, list | tuple) or not value:
        errors[key] = "weekdays must list at least one day (0–6 with 0 = Monday, or mon…sun)"
        return None
    days: set[int] = set()
    for item in value:
        if isinstance(item, str) and item.strip().lower()[:3] in WEEKDAY_NAMES:
            days.add(WEEKDAY_NAMES.index(item.strip().lower()[:3]))
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        else:
            errors[key] = f"weekdays: {item!r} is not a day (0–6 with 0 = Monday, or mon…sun)"
            return None
    return sorted(days)


def clean_rules(rules: Any) -> list[Rule]:
    """Return ``rules`` in cleaned form (defaults filled, weekdays as ints, sorted keys).

    Raises RuleError naming every bad rule index and field (``rules[1].every``).
    """
    if rules is None:
        return []
    if not isinstance(rules, list | tuple):
        raise RuleError({"rules": "rules must be a list of rule objects"})
    errors: dict[str, str] = {}
    cleaned: list[Rule] = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            errors[where] = "each rule must be an object with a type"
            continue
        kind = rule.get("type")
        if kind not in RULE_TYPES:
            errors[f"{where}.type"] = (f"type must be one of {', '.join(RULE_TYPES)}, "
                                       f"not {kind!r}")
            continue
        before = len(errors)
        known = {"type"}
        if kind == "minutely":
            known |= {"every"}
            out = {"type": kind, "every": _int_field(rule, "every", where, errors, low=1,
                                                     high=1440)}
        elif kind == "hourly":
            known |= {"every", "minute"}
            out = {"type": kind,
                   "every": _int_field(rule, "every", where, errors, low=1, high=24, default=1),
                   "minute": _int_field(rule, "minute", where, errors, low=0, high=59, default=0)}
        elif kind == "daily":
            known |= {"every", "at"}
            out = {"type": kind,
                   "every": _int_field(rule, "every", where, errors, low=1, high=MAX_EVERY_DAYS,
                                       default=1),
                   "at": _clock_field(rule, where, errors)}
        else:
            known |= {"weekdays", "start_hour", "end_hour", "every"}
            start = rule.get("start_hour")
            end = rule.get("end_hour")
            out = {"type": kind,
                   "weekdays": _weekdays_field(rule, where, errors),
                   "start_hour": _int_field({"start_hour": 0 if start is None else start},
                                            "start_hour", where, errors, low=0, high=23),
                   "end_hour": _int_field({"end_hour": 23 if end is None else end},
                                          "end_hour", where, errors, low=0, high=23),
                   "every": _int_field(rule, "every", where, errors, low=1, high=1440,
                                       default=60)}
        for extra in sorted(set(rule) - known):
            errors[f"{where}.{extra}"] = f"{extra} is not a field of a {kind} rule"
        if len(errors) == before:
            cleaned.append(out)
    if errors:
        raise RuleError(errors)
    return cleaned


def shortest_gap_minutes(rule: Rule) -> int:
    """The shortest interval, in minutes, that ``rule`` alone can produce (ignoring DST)."""
    if rule["type"] in ("minutely", "flexible"):
        return rule["every"]
    if rule["type"] == "hourly":
        return rule["every"] * 60
    return rule["every"] * 1440


def rule_warnings(rules: Sequence[Rule], channel_type: str, *, full_sync: bool = False
                  ) -> list[str]:
    """Plain-language warnings for cleaned ``rules`` that run more often than the reference
    advises (§3.3): 15 min for orders and shipments, 60 min for inventory, once a day for an
    inventory full sync. Never raises."""
    warnings: list[str] = []
    label = "full sync rules" if full_sync else "rules"
    minimum = 1440 if full_sync else MINIMUM_MINUTES.get(channel_type)
    if minimum is None:
        return warnings
    for index, rule in enumerate(rules):
        gap = shortest_gap_minutes(rule)
        if gap < minimum:
            what = "a full sync" if full_sync else channel_type.replace("_", " ")
            limit = "once a day" if full_sync else f"every {minimum} minutes"
            warnings.append(f"{label}[{index}]: runs every {gap} minutes; {what} is advised at "
                            f"most {limit} — more runs mean more billable store requests")
    return warnings


# ---------------------------------------------------------------------------------------------
# Fire times
# ---------------------------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo for ``name``; UTC when empty. Raises ValueError for an unknown zone."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like "
                         "America/New_York") from None


def _wall(day: date, hour: int, minute: int, tz: ZoneInfo, fold: int = 0) -> datetime:
    """The UTC instant of a local wall time. fold=0 in a gap maps with the offset before the
    transition, i.e. the same distance past the gap (PEP 495)."""
    return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=tz).astimezone(UTC)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return _wall(day, 0, 0, tz)


def _every(start: datetime, end: datetime, minutes: int) -> list[datetime]:
    step = timedelta(minutes=minutes)
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out


def _rule_day_fires(rule: Rule, day: date, tz: ZoneInfo) -> list[datetime]:
    """Fires anchored on local ``day`` (a flexible window may run past midnight)."""
    kind = rule["type"]
    if kind == "minutely":
        return _every(_midnight(day, tz), _midnight(day + timedelta(days=1), tz), rule["every"])
    if kind == "hourly":
        fires = []
        for hour in range(0, 24, rule["every"]):
            first = _wall(day, hour, rule["minute"], tz, 0)
            second = _wall(day, hour, rule["minute"], tz, 1)
            fires.append(first)
            if second != first and second > first:  # an ambiguous (repeated) wall time
                fires.append(second)
        return fires
    if kind == "daily":
        if day.toordinal() % rule["every"]:
            return []
        hours, minutes = (int(p) for p in rule["at"].split(":"))
        return [_wall(day, hours, minutes, tz)]
    # flexible
    if day.weekday() not in rule["weekdays"]:
        return []
    start_hour, end_hour = rule["start_hour"], rule["end_hour"]
    opens = _wall(day, start_hour, 0, tz)
    close_day = day if end_hour >= start_hour else day + timedelta(days=1)
    closes = (_midnight(close_day + timedelta(days=1), tz) if end_hour == 23
              else _wall(close_day, end_hour + 1, 0, tz))
    return _every(opens, closes, rule["every"])


def rules_key(rules: Sequence[Rule]) -> str:
    """A stable string for cleaned ``rules`` (the cache key)."""
    return json.dumps(list(rules), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=16384)
def _day_fires(key: str, tz_name: str, day: date) -> tuple[datetime, ...]:
    """Sorted, de-duplicated UTC fires of the rules in ``key`` that fall on local ``day``.

    Tables of consecutive days are disjoint and ordered (a flexible window running past
    midnight is generated from the day before and kept here by its instant).
    """
    tz = zone(tz_name)
    opens, closes = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
    fires: set[datetime] = set()
    for rule in json.loads(key):
        for anchor in (day - timedelta(days=1), day):
            fires.update(f for f in _rule_day_fires(rule, anchor, tz) if opens <= f < closes)
    return tuple(sorted(fires))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime (UTC inside the hub)")
    return moment.astimezone(UTC)


def next_fire(rules: Sequence[Rule], after: datetime, tz_name: str | None = "UTC",
              *, key: str | None = None) -> datetime | None:
    """The first instant strictly after ``after`` when any of the cleaned ``rules`` fires (UTC).

    Returns None for an empty rule list. ``key`` may pass a precomputed ``rules_key``.
    Raises ValueError for a naive ``after`` or an unknown zone.
    """
    if not rules:
        return None
    key = key or rules_key(rules)
    tz_name = tz_name or "UTC"
    after = _as_utc(after)
    day = after.astimezone(zone(tz_name)).date()
    for offset in range(_SEARCH_DAYS):
        fires = _day_fires(key, tz_name, day + timedelta(days=offset))
        index = bisect_right(fires, after)
        if index < len(fires):
            return fires[index]
    return None


def iter_fires(rules: Sequence[Rule], after: datetime, tz_name: str | None = "UTC"
               ) -> Iterator[datetime]:
    """Every fire strictly after ``after``, in order (endless unless ``rules`` is empty)."""
    key = rules_key(rules)
    current = next_fire(rules, after, tz_name, key=key)
    while current is not None:
        yield current
        current = next_fire(rules, current, tz_name, key=key)


def count_fires(rules: Sequence[Rule], start: datetime, end: datetime,
                tz_name: str | None = "UTC") -> int:
    """How many fires fall in ``[start, end)``; cheap for months (cached day tables)."""
    if not rules or end <= start:
        return 0
    key = rules_key(rules)
    tz_name = tz_name or "UTC"
    start, end = _as_utc(start), _as_utc(end)
    tz = zone(tz_name)
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    total = 0
    while day <= last:
        fires = _day_fires(key, tz_name, day)
        total += bisect_left(fires, end) - bisect_left(fires, start)
        day += timedelta(days=1)
    return total


# ---------------------------------------------------------------------------------------------
# Plain language
# ---------------------------------------------------------------------------------------------


def _plural(n: int, unit: str) -> str:
    return f"{unit}" if n == 1 else f"{n} {unit}s"


def describe_rule(rule: Rule) -> str:
    """One cleaned rule in plain language, e.g. "every 4 hours at :00"."""
    kind = rule["type"]
    if kind == "minutely":
        return f"every {_plural(rule['every'], 'minute')}"
    if kind == "hourly":
        return f"every {_plural(rule['every'], 'hour')} at :{rule['minute']:02d}"
    if kind == "daily":
        if rule["every"] == 1:
            return f"daily at {rule['at']}"
        return f"every {rule['every']} days at {rule['at']}"
    days = rule["weekdays"]
    if days == list(range(7)):
        day_text = "every day"
    elif days == list(range(5)):
        day_text = "Mon–Fri"
    else:
        day_text = ", ".join(WEEKDAY_NAMES[d].capitalize() for d in days)
    if (rule["start_hour"], rule["end_hour"]) == (0, 23):
        window = "all day"
    else:
        window = f"{rule['start_hour']:02d}:00–{rule['end_hour']:02d}:59"
    return f"{day_text}, {window}, every {_plural(rule['every'], 'minute')}"


def describe_rules(rules: Sequence[Rule], time_zone: str | None = None) -> str:
    """The channel card's "Recurrence": all rules joined, capitalised, with the zone."""
    if not rules:
        return "Not scheduled (runs only when started by hand)"
    text = "; ".join(describe_rule(rule) for rule in rules)
    text = text[0].upper() + text[1:]
    if time_zone and time_zone != "UTC" and any(r["type"] != "minutely" for r in rules):
        text += f" ({time_zone})"
    return text
