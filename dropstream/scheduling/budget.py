"""The API budget per store: usage from the meter, projection, overage cost and the guard.

Bright Sites bills each request beyond a monthly allowance (DESIGN "Cost model"); it publishes
no figures, so 30,000 requests and $0.03 each beyond are defaults to confirm with them
(``StoreBudget.confirmed_at`` stays empty until a user saves their own figures).

Months and days are the merchant's calendar (``Merchant.time_zone``).

Guards (``StoreBudget.guard``); the 80 % and 100 % alerts are raised in every mode, once per
threshold per month:

* **alert** — only the alerts.
* **stretch** — scheduled runs are spaced out by ``stretch_factor`` so the projected month lands
  under the allowance, but never more than ``max_delay_minutes`` apart (the user's limit wins
  over the allowance).
* **stop** — at the allowance, scheduled runs of the store's connections stop until the month
  ends or the allowance is raised; runs started by hand and push intake go on.

The projection models each channel's store requests as ``base × runs + volume``: ``base`` is
the cost of a run that finds nothing (the cheapest recent run, or 1 list request for orders and
0 for shipments and inventory), ``volume`` the rest of the recent requests per day, which does
not shrink when runs are spaced out. Stretch therefore only divides ``base × runs``.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Min, Q

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.bulk import update_many
from dropstream.connections.models import Channel, Store
from dropstream.metering.models import ApiCall, BudgetGuard, StoreBudget
from dropstream.scheduling import clock
from dropstream.scheduling.errors import InvalidBudget
from dropstream.scheduling.models import Run, RunState
from dropstream.scheduling.rules import count_fires, zone

logger = logging.getLogger("dropstream.scheduling.budget")

THRESHOLDS = (80, 100)
# Requests a run makes when it finds nothing to do (DESIGN "Cost model").
EMPTY_RUN_COST = {"sales_order": 1, "shipment": 0, "inventory": 0}
RECENT_DAYS = 7
# Stretch aims a little under the allowance: the projection is an estimate.
STRETCH_TARGET = 0.95
COUNT_LAG = timedelta(seconds=30)
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------------------------


def _tz_name(store: Store) -> str:
    name = getattr(store.customer, "time_zone", "") or "UTC"
    try:
        zone(name)
    except ValueError:
        return "UTC"
    return name


def month_bounds(now: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """[start, end) of the merchant's calendar month containing ``now``, as UTC instants."""
    tz = zone(tz_name)
    local = now.astimezone(tz).date()
    first = local.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
            datetime.combine(following, time(0), tzinfo=tz).astimezone(UTC))


def day_start(now: datetime, tz_name: str) -> datetime:
    tz = zone(tz_name)
    local: date = now.astimezone(tz).date()
    return datetime.combine(local, time(0), tzinfo=tz).astimezone(UTC)


def month_key(now: datetime, tz_name: str) -> str:
    return now.astimezone(zone(tz_name)).strftime("%Y-%m")


# ---------------------------------------------------------------------------------------------
# Settings per store
# ---------------------------------------------------------------------------------------------


def get_budget(store: Store) -> StoreBudget:
    """The store's budget row, created with the defaults on first use."""
    budget, _ = StoreBudget.objects.get_or_create(store=store)
    return budget


def update_budget(store: Store, *, monthly_allowance: int | None = None,
                  overage_price: Decimal | str | float | None = None, guard: str | None = None,
                  max_delay_minutes: int | None = None) -> StoreBudget:
    """Validate and store the given budget settings (others unchanged); marks them confirmed.

    Raises InvalidBudget naming each bad field; nothing is stored then.
    """
    budget = get_budget(store)
    errors: dict[str, str] = {}
    if monthly_allowance is not None:
        if isinstance(monthly_allowance, bool) or not isinstance(monthly_allowance, int) \
                or not 0 <= monthly_allowance <= 100_000_000:
            errors["monthly_allowance"] = "monthly_allowance must be a whole number of requests " \
                                          "from 0 to 100,000,000"
        else:
            budget.monthly_allowance = monthly_allowance
    if overage_price is not None:
        try:
            price = Decimal(str(overage_price))
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or not Decimal(0) <= price <= Decimal(1000):
            errors["overage_price"] = "overage_price must be an amount per request from 0 to 1000"
        else:
            budget.overage_price = price.quantize(Decimal("0.0001"))
    if guard is not None:
        if guard not in BudgetGuard.values:
            errors["guard"] = f"guard must be one of {', '.join(BudgetGuard.values)}"
        else:
            budget.guard = guard
    if max_delay_minutes is not None:
        if isinstance(max_delay_minutes, bool) or not isinstance(max_delay_minutes, int) \
                or not 1 <= max_delay_minutes <= 7 * 1440:
            errors["max_delay_minutes"] = "max_delay_minutes must be from 1 to 10080 (a week)"
        else:
            budget.max_delay_minutes = max_delay_minutes
    if errors:
        raise InvalidBudget(errors)
    budget.confirmed_at = clock.now()
    budget.save()
    # Re-evaluate at once: a raised allowance lifts a stop, a new guard applies now.
    refresh_store(budget, clock.now(), recount=True)
    return budget


# ---------------------------------------------------------------------------------------------
# Usage and projection
# ---------------------------------------------------------------------------------------------


def _live_channels(store: Store) -> list[dict[str, Any]]:
    return list(Channel.objects.filter(
        connection__store=store, connection__enabled_at__isnull=False, enabled_at__isnull=False)
        .values("id", "type", "rules", "full_sync_rules"))


def _recent_costs(store: Store, now: datetime) -> dict[str, tuple[float, float]]:
    """Per channel type: (requests of an empty run, other requests per day), from the last
    ``RECENT_DAYS`` of runs and meter rows."""
    since = now - timedelta(days=RECENT_DAYS)
    calls = ApiCall.objects.filter(store=store, at__gte=since, at__lt=now)
    by_channel = dict(calls.values_list("channel").annotate(n=Count("id")))
    first_call = calls.aggregate(first=Min("at"))["first"]
    runs = (Run.objects.filter(connection__store=store, finished_at__gte=since,
                               finished_at__lt=now, state=RunState.SUCCEEDED)
            .values("channel_type").annotate(n=Count("id"), cheapest=Min("requests_used")))
    run_stats = {row["channel_type"]: (row["n"], row["cheapest"]) for row in runs}
    observed_days = max((now - first_call).total_seconds() / 86400, 1.0) if first_call else 1.0
    costs = {}
    for kind, default in EMPTY_RUN_COST.items():
        count, cheapest = run_stats.get(kind, (0, None))
        base = float(cheapest) if cheapest is not None else float(default)
        volume = max(by_channel.get(kind, 0) - base * count, 0.0) / observed_days
        costs[kind] = (base, volume)
    return costs


def project_rest_of_month(store: Store, now: datetime, *, stretch_factor: float = 1.0,
                          stopped: bool = False) -> dict[str, float]:
    """Requests expected from ``now`` to the month's end: {"polls": the part that scales with
    the number of scheduled runs, "volume": the part that does not}."""
    tz_name = _tz_name(store)
    _, end = month_bounds(now, tz_name)
    days_left = (end - now).total_seconds() / 86400
    costs = _recent_costs(store, now)
    polls = volume = 0.0
    kinds_seen = set()
    after = now + timedelta(microseconds=1)  # a fire at ``now`` is being dispatched already
    for channel in _live_channels(store):
        base, per_day = costs.get(channel["type"], (0.0, 0.0))
        runs = count_fires(channel["rules"] or [], after, end, tz_name)
        runs += count_fires(channel["full_sync_rules"] or [], after, end, tz_name)
        polls += 0 if stopped else base * runs / max(stretch_factor, 1.0)
        if channel["type"] not in kinds_seen:
            kinds_seen.add(channel["type"])
            volume += per_day * days_left
    return {"polls": polls, "volume": volume}


def store_usage(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """The store's request usage and budget. Keys:

    requests_today, requests_month (ints, merchant calendar); by_channel, by_endpoint (this
    month, {name: n}); projection (int, the month's expected total); projected_overage_cost
    (Decimal, 2 places); allowance (int); overage_price (Decimal); guard (dict: mode,
    max_delay_minutes, stretch_factor, stopped, defaults_unconfirmed, month_start, month_end).
    """
    now = now or clock.now()
    budget = get_budget(store)
    tz_name = _tz_name(store)
    start, end = month_bounds(now, tz_name)
    month_calls = ApiCall.objects.filter(store=store, at__gte=start, at__lt=end, at__lte=now)
    requests_month = month_calls.count()
    requests_today = month_calls.filter(at__gte=day_start(now, tz_name)).count()
    by_channel = {name or "other": n for name, n in
                  month_calls.values_list("channel").annotate(n=Count("id")).order_by("channel")}
    by_endpoint = dict(month_calls.values_list("endpoint").annotate(n=Count("id"))
                       .order_by("-n", "endpoint"))
    rest = project_rest_of_month(store, now, stretch_factor=budget.stretch_factor
                                 if budget.guard == BudgetGuard.STRETCH else 1.0,
                                 stopped=budget.stopped)
    projection = int(math.ceil(requests_month + rest["polls"] + rest["volume"]))
    overage = max(projection - budget.monthly_allowance, 0)
    return {
        "requests_today": requests_today,
        "requests_month": requests_month,
        "by_channel": by_channel,
        "by_endpoint": by_endpoint,
        "projection": projection,
        "projected_overage_cost": (Decimal(overage) * budget.overage_price).quantize(
            CENT, rounding=ROUND_HALF_UP),
        "allowance": budget.monthly_allowance,
        "overage_price": budget.overage_price,
        "guard": {
            "mode": budget.guard,
            "max_delay_minutes": budget.max_delay_minutes,
            "stretch_factor": round(budget.stretch_factor, 3),
            "stopped": budget.stopped,
            "defaults_unconfirmed": budget.confirmed_at is None,
            "month_start": start,
            "month_end": end,
        },
    }


# ---------------------------------------------------------------------------------------------
# The guard (run by the scheduler)
# ---------------------------------------------------------------------------------------------


def stretch_factor_for(store: Store, budget: StoreBudget, now: datetime, used: int) -> float:
    """How much to space out scheduled runs so the month lands under the allowance (≥ 1).

    Infinite when even no polling at all would not fit; the dispatcher then caps every gap at
    the store's maximum delay.
    """
    rest = project_rest_of_month(store, now)
    room = budget.monthly_allowance * STRETCH_TARGET - used - rest["volume"]
    if rest["polls"] <= 0:
        return 1.0
    if room <= 0:
        return math.inf
    return max(rest["polls"] / room, 1.0)


def _claim_threshold(budget: StoreBudget, month: str, threshold: int) -> bool:
    """Record that ``threshold`` was alerted this month; True only for the one caller that
    changed the row (a conditional UPDATE, so two schedulers never alert twice)."""
    if budget.alerted_month == month and budget.alerted_percent >= threshold:
        return False
    claimed = StoreBudget.objects.filter(
        Q(pk=budget.pk) & (~Q(alerted_month=month) | Q(alerted_percent__lt=threshold))
    ).update(alerted_month=month, alerted_percent=threshold) == 1
    budget.alerted_month, budget.alerted_percent = month, threshold
    return claimed


def _raise_threshold_alerts(store: Store, budget: StoreBudget, month: str, used: int) -> None:
    allowance = budget.monthly_allowance
    reached = [t for t in THRESHOLDS if used * 100 >= allowance * t and (allowance or t == 100)]
    if not reached or not _claim_threshold(budget, month, reached[-1]):
        return
    # Only the highest threshold reached is alerted: a jump past 80 % straight to 100 % (a
    # lowered allowance) is one alert, not two.
    threshold = reached[-1]
    action = {
        BudgetGuard.STOP: " Scheduled polling is paused until the month ends or the allowance "
                          "is raised; push intake and manual runs go on."
        if threshold >= 100 else "",
        BudgetGuard.STRETCH: " Poll intervals are being lengthened.",
    }.get(budget.guard, "")
    raise_alert(AlertKind.BUDGET,
                f"Store {store.name} used {used:,} of its {allowance:,} API requests for "
                f"{month} ({threshold} %).{action}",
                customer=store.customer, related=store)


GUARD_FIELDS = ["month", "month_requests", "counted_until", "stretch_factor", "stopped"]


def refresh_store(budget: StoreBudget, now: datetime, *, recount: bool = False,
                  used: int | None = None, save: bool = True) -> StoreBudget:
    """Bring one store's guard state up to ``now``: count, alerts, stretch factor, stop.

    ``used`` passes a count already known (the batch refresh); otherwise it is counted from
    the meter. ``save=False`` leaves the row to the caller's bulk update.
    """
    store = budget.store
    tz_name = _tz_name(store)
    month = month_key(now, tz_name)
    start, _ = month_bounds(now, tz_name)
    cutoff = max(now - COUNT_LAG, start)
    if used is None:
        if recount or budget.month != month or budget.counted_until is None:
            used = ApiCall.objects.filter(store=store, at__gte=start, at__lt=cutoff).count()
        else:
            used = budget.month_requests + ApiCall.objects.filter(
                store=store, at__gte=budget.counted_until, at__lt=cutoff).count()
    _raise_threshold_alerts(store, budget, month, used)
    factor = 1.0
    if budget.guard == BudgetGuard.STRETCH:
        factor = min(stretch_factor_for(store, budget, now, used), 1e6)
    stopped = budget.guard == BudgetGuard.STOP and used >= budget.monthly_allowance
    if stopped and not budget.stopped:
        logger.warning("store %s reached its API allowance: scheduled polling paused",
                       store.pk, extra={"store_id": store.pk})
    budget.month, budget.month_requests, budget.counted_until = month, used, cutoff
    budget.stretch_factor, budget.stopped = factor, stopped
    if save:
        StoreBudget.objects.filter(pk=budget.pk).update(
            **{name: getattr(budget, name) for name in GUARD_FIELDS})
    return budget


def _increments(budgets: list[StoreBudget], cutoff: datetime) -> dict[datetime, dict[int, int]]:
    """Requests per store since each distinct ``counted_until`` (normally one: every refresh
    moves all budgets to the same cutoff), one grouped query per distinct start."""
    starts = {b.counted_until for b in budgets if b.counted_until is not None}
    return {since: dict(ApiCall.objects.filter(at__gte=since, at__lt=cutoff,
                                               store__isnull=False)
                        .values_list("store_id").annotate(n=Count("id")).order_by())
            for since in sorted(starts)[-8:]}


def refresh_guards(now: datetime | None = None) -> int:
    """Refresh every store's guard: running count, threshold alerts, stretch factor and stop.

    Creates default budgets for stores with connections. Counting is incremental and grouped
    (one query for all stores), so a refresh stays cheap with thousands of stores; a store
    starts its count afresh at each new month. Returns how many stores had new requests, a new
    month or a guard that reads the projection.
    """
    now = now or clock.now()
    missing = (Store.objects.filter(connections__isnull=False, budget__isnull=True)
               .values_list("id", flat=True).distinct())
    StoreBudget.objects.bulk_create([StoreBudget(store_id=pk) for pk in missing],
                                    ignore_conflicts=True)
    budgets = list(StoreBudget.objects.select_related("store__customer"))
    cutoff = now - COUNT_LAG
    increments = _increments(budgets, cutoff)
    changed: list[StoreBudget] = []
    for budget in budgets:
        tz_name = _tz_name(budget.store)
        fresh = budget.counted_until is None or budget.month != month_key(now, tz_name) \
            or budget.counted_until not in increments
        added = 0 if fresh else increments[budget.counted_until].get(budget.store_id, 0)
        if fresh or added or budget.guard == BudgetGuard.STRETCH \
                or budget.stopped != (budget.guard == BudgetGuard.STOP
                                      and budget.month_requests >= budget.monthly_allowance):
            refresh_store(budget, now, used=None if fresh else budget.month_requests + added,
                          save=False)
            changed.append(budget)
    update_many(StoreBudget, GUARD_FIELDS,
                ([getattr(b, name) for name in GUARD_FIELDS] + [b.pk] for b in changed))
    # The rest had no request: their count holds up to the cutoff.
    StoreBudget.objects.exclude(pk__in=[b.pk for b in changed]).update(counted_until=cutoff)
    return len(changed)
