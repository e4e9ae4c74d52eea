"""Schedule rule math: next fire times, counts, DST, validation and plain language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropstream.scheduling.rules import (
    RuleError,
    clean_rules,
    count_fires,
    describe_rules,
    iter_fires,
    next_fire,
    rule_warnings,
)

NEW_YORK = "America/New_York"
ZONES = ["UTC", NEW_YORK, "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Sao_Paulo"]
# Local-time transitions in New York: 2025-03-09 02:00 → 03:00, 2025-11-02 02:00 → 01:00.
SPRING = datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
FALL = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)

minutely = st.builds(lambda n: {"type": "minutely", "every": n}, st.integers(1, 1440))
hourly = st.builds(lambda n, m: {"type": "hourly", "every": n, "minute": m},
                   st.integers(1, 24), st.integers(0, 59))
daily = st.builds(lambda n, h, m: {"type": "daily", "every": n, "at": f"{h:02d}:{m:02d}"},
                  st.integers(1, 30), st.integers(0, 23), st.integers(0, 59))
flexible = st.builds(
    lambda days, start, end, n: {"type": "flexible", "weekdays": days, "start_hour": start,
                                 "end_hour": end, "every": n},
    st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
    st.integers(0, 23), st.integers(0, 23), st.integers(5, 240))
rule_lists = st.lists(st.one_of(minutely, hourly, daily, flexible), min_size=1, max_size=3)
# Anywhere in a decade, or within two days of a New York transition.
moments = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31),
                 timezones=st.just(UTC)),
    st.builds(lambda base, minutes: base + timedelta(minutes=minutes),
              st.sampled_from([SPRING, FALL]), st.integers(-2880, 2880)),
)


@settings(max_examples=150, deadline=None)
@given(rules=rule_lists, now=moments, tz=st.sampled_from(ZONES))
def test_fires_are_never_earlier_than_now_and_always_increase(rules, now, tz):
    cleaned = clean_rules(rules)
    fires = list(islice(iter_fires(cleaned, now, tz), 12))
    assert len(fires) == 12
    assert fires[0] > now
    assert all(later > earlier for earlier, later in zip(fires, fires[1:], strict=False))


@settings(max_examples=100, deadline=None)
@given(rules=rule_lists, now=moments, tz=st.sampled_from(ZONES))
def test_counting_agrees_with_stepping_so_no_fire_is_skipped(rules, now, tz):
    cleaned = clean_rules(rules)
    fires = list(islice(iter_fires(cleaned, now, tz), 8))
    assert count_fires(cleaned, now + timedelta(microseconds=1), fires[-1], tz) == 7


def _in_window(local: datetime, rule: dict) -> bool:
    start, end, days = rule["start_hour"], rule["end_hour"], rule["weekdays"]
    if start <= end:
        return start <= local.hour <= end and local.weekday() in days
    if local.hour >= start:
        return local.weekday() in days
    # After midnight: the window opened the day before.
    return local.hour <= end and (local.weekday() - 1) % 7 in days


@settings(max_examples=150, deadline=None)
@given(rule=flexible, now=moments, tz=st.sampled_from(ZONES))
def test_flexible_fires_fall_inside_their_window(rule, now, tz):
    cleaned = clean_rules([rule])
    for fire in islice(iter_fires(cleaned, now, tz), 30):
        local = fire.astimezone(ZoneInfo(tz))
        assert _in_window(local, cleaned[0]), (local, cleaned[0])


@settings(max_examples=60, deadline=None)
@given(every=st.sampled_from([5, 10, 12, 15, 20, 30, 60]),
       now=st.builds(lambda base, m: base + timedelta(minutes=m),
                     st.sampled_from([SPRING, FALL]), st.integers(-1440, 0)))
def test_minutely_keeps_exact_real_gaps_across_a_new_york_dst_change(every, now):
    # Intervals dividing an hour fit the 23- and 25-hour days; others restart at local midnight.
    fires = list(islice(iter_fires(clean_rules([{"type": "minutely", "every": every}]), now,
                                   NEW_YORK), 2 * 1440 // every))
    assert fires[-1] - fires[0] > timedelta(hours=25)  # the sample spans the change
    assert {b - a for a, b in zip(fires, fires[1:], strict=False)} == {timedelta(minutes=every)}


@settings(max_examples=60, deadline=None)
@given(hour=st.integers(0, 23), minute=st.integers(0, 59),
       base=st.sampled_from([SPRING, FALL]))
def test_daily_fires_once_per_local_day_at_its_wall_time_across_dst(hour, minute, base):
    tz = ZoneInfo(NEW_YORK)
    rules = clean_rules([{"type": "daily", "at": f"{hour:02d}:{minute:02d}"}])
    fires = list(islice(iter_fires(rules, base - timedelta(days=3), NEW_YORK), 6))
    local_days = [f.astimezone(tz).date() for f in fires]
    assert len(set(local_days)) == 6
    assert all((b - a).days == 1 for a, b in zip(local_days, local_days[1:], strict=False))
    for fire in fires:
        local = fire.astimezone(tz)
        skipped = local.date() == SPRING.date() and hour == 2  # the spring gap
        assert (local.hour, local.minute) == ((3, minute) if skipped else (hour, minute))


def test_a_minutely_interval_that_does_not_divide_the_day_restarts_at_local_midnight():
    rules = clean_rules([{"type": "minutely", "every": 100}])
    fires = list(islice(iter_fires(rules, datetime(2025, 6, 1, 22, 0, tzinfo=UTC), "UTC"), 3))
    assert fires == [datetime(2025, 6, 1, 23, 20, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC),
                     datetime(2025, 6, 2, 1, 40, tzinfo=UTC)]


def test_a_daily_time_in_the_spring_gap_runs_just_after_it():
    rules = clean_rules([{"type": "daily", "at": "02:30"}])
    fire = next_fire(rules, datetime(2025, 3, 9, 0, 0, tzinfo=UTC), NEW_YORK)
    assert fire == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_a_daily_time_repeated_by_the_fall_change_runs_once_at_its_first_occurrence():
    rules = clean_rules([{"type": "daily", "at": "01:30"}])
    first = next_fire(rules, datetime(2025, 11, 2, 0, 0, tzinfo=UTC), NEW_YORK)
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert next_fire(rules, first, NEW_YORK) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)


def test_hourly_every_hour_runs_25_times_on_the_fall_back_day_an_hour_apart():
    rules = clean_rules([{"type": "hourly", "every": 1, "minute": 0}])
    start = datetime(2025, 11, 2, 4, 0, tzinfo=UTC)  # local midnight, EDT
    end = datetime(2025, 11, 3, 5, 0, tzinfo=UTC)  # next local midnight, EST
    assert count_fires(rules, start, end, NEW_YORK) == 25
    fires = list(islice(iter_fires(rules, start - timedelta(seconds=1), NEW_YORK), 25))
    assert {b - a for a, b in zip(fires, fires[1:], strict=False)} == {timedelta(hours=1)}


def test_stacked_rules_fire_when_any_fires_and_coinciding_fires_count_once():
    rules = clean_rules([{"type": "minutely", "every": 30},
                         {"type": "hourly", "every": 1, "minute": 0},
                         {"type": "daily", "at": "00:10"}])
    day = datetime(2025, 6, 1, tzinfo=UTC)
    assert count_fires(rules, day, day + timedelta(days=1), "UTC") == 49


def test_the_next_run_of_defaults_in_the_merchant_zone():
    rules = clean_rules([{"type": "hourly", "every": 4, "minute": 0}])
    # 10:05 in New York (EDT) → 12:00 local = 16:00 UTC.
    now = datetime(2025, 6, 1, 14, 5, tzinfo=UTC)
    assert next_fire(rules, now, NEW_YORK) == datetime(2025, 6, 1, 16, 0, tzinfo=UTC)
    assert next_fire([], now, NEW_YORK) is None


def test_validation_names_the_rule_index_and_field():
    with pytest.raises(RuleError) as caught:
        clean_rules([{"type": "minutely", "every": 15},
                     {"type": "minutely"},
                     {"type": "hourly", "every": 30, "minute": 75},
                     {"type": "daily", "at": "25:00"},
                     {"type": "flexible", "weekdays": ["mon", "funday"]},
                     {"type": "weekly"},
                     {"type": "minutely", "every": 15, "colour": "red"},
                     "often"])
    assert caught.value.errors == {
        "rules[1].every": "every is required",
        "rules[2].every": "every must be from 1 to 24, not 30",
        "rules[2].minute": "minute must be from 0 to 59, not 75",
        "rules[3].at": "at must be a time of day as HH:MM (00:00–23:59), not '25:00'",
        "rules[4].weekdays": "weekdays: 'funday' is not a day (0–6 with 0 = Monday, or mon…sun)",
        "rules[5].type": "type must be one of minutely, hourly, daily, flexible, not 'weekly'",
        "rules[6].colour": "colour is not a field of a minutely rule",
        "rules[7]": "each rule must be an object with a type",
    }
    with pytest.raises(RuleError) as caught:
        clean_rules({"type": "minutely"})
    assert caught.value.errors == {"rules": "rules must be a list of rule objects"}


def test_cleaning_fills_defaults_and_reads_weekday_names():
    assert clean_rules([{"type": "flexible", "weekdays": ["Fri", "mon", 2], "start_hour": 9,
                         "end_hour": "17", "every": 30},
                        {"type": "hourly", "every": 4},
                        {"type": "daily", "at": "1:00"}]) == [
        {"type": "flexible", "weekdays": [0, 2, 4], "start_hour": 9, "end_hour": 17,
         "every": 30},
        {"type": "hourly", "every": 4, "minute": 0},
        {"type": "daily", "every": 1, "at": "01:00"},
    ]


def test_below_the_reference_minimums_is_a_warning_not_an_error():
    orders = clean_rules([{"type": "minutely", "every": 5}, {"type": "hourly", "every": 1}])
    assert rule_warnings(orders, "sales_order") == [
        "rules[0]: runs every 5 minutes; sales order is advised at most every 15 minutes — "
        "more runs mean more billable store requests"]
    inventory = clean_rules([{"type": "minutely", "every": 30}])
    assert len(rule_warnings(inventory, "inventory")) == 1
    assert rule_warnings(clean_rules([{"type": "minutely", "every": 60}]), "inventory") == []
    full = clean_rules([{"type": "hourly", "every": 6}])
    assert rule_warnings(full, "inventory", full_sync=True)[0].startswith(
        "full sync rules[0]: runs every 360 minutes; a full sync is advised at most once a day")


def test_recurrence_reads_as_plain_language():
    rules = clean_rules([{"type": "flexible", "weekdays": [0, 1, 2, 3, 4], "start_hour": 9,
                          "end_hour": 17, "every": 30},
                         {"type": "daily", "at": "01:00"},
                         {"type": "minutely", "every": 15},
                         {"type": "hourly", "every": 4, "minute": 0},
                         {"type": "daily", "every": 2, "at": "06:00"}])
    assert describe_rules(rules, NEW_YORK) == (
        "Mon–Fri, 09:00–17:59, every 30 minutes; daily at 01:00; every 15 minutes; "
        "every 4 hours at :00; every 2 days at 06:00 (America/New_York)")
    assert describe_rules([]) == "Not scheduled (runs only when started by hand)"
