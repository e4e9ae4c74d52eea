"""What every page shares: the login + role gate, the user's time zone, paging, htmx partials.

Every page is wrapped in ``@page`` (or ``@page(manage=True)``): the user must be logged in, and
the page runs under the user's time zone so every datetime a template prints is local
(DESIGN.md invariant 6). Objects are always looked up through ``visible_to(request.user)``, so
another merchant's object is simply not found: 404, never 403 (healthchecks ``hc/front``).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

PAGE_SIZE = 50

View = Callable[..., HttpResponse]


def user_zone(user) -> zoneinfo.ZoneInfo:
    """The user's zone; UTC when the stored name is not a known zone."""
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def can_manage(user) -> bool:
    """Administrators and Staff configure connections and act on orders; Merchant users read."""
    return bool(user.is_authenticated and (user.is_administrator or user.role == "staff"))


def page(view: View | None = None, *, manage: bool = False, admin: bool = False):
    """Decorate a page view: login required, user's time zone active, optional role gate.

    ``manage`` admits Administrators and Staff; ``admin`` only Administrators. A user below the
    gate gets 403 (their own role's limit, not somebody else's object, so no 404 is needed).
    """

    def wrap(func: View) -> View:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if admin and not user.is_administrator:
                raise PermissionDenied("Only administrators can do this.")
            if manage and not can_manage(user):
                raise PermissionDenied("Merchant users can look but not change this.")
            with timezone.override(user_zone(user)):
                response = func(request, *args, **kwargs)
                # A TemplateResponse renders late; render it while the zone is active.
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
            return response

        return wrapper

    return wrap(view) if view is not None else wrap


def get_visible(queryset: QuerySet, user, **lookup: Any) -> Model:
    """The one object matching ``lookup`` among those ``user`` may see; Http404 otherwise."""
    try:
        return queryset.visible_to(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("Not found") from None


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    """The requested page of ``queryset`` (page 1 for junk, the last page when past the end)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string minus ``names``, for building filter and page links."""
    pairs = [(k, v) for k, values in request.GET.lists() if k not in names for v in values]
    return urlencode(pairs)


def partial_or_page(request: HttpRequest, full: str, partial: str,
                    context: dict[str, Any]) -> HttpResponse:
    """htmx gets the partial unless the request is boosted (netbox ``utilities/htmx.py``)."""
    htmx = getattr(request, "htmx", None)
    template = partial if htmx and not htmx.boosted else full
    return render(request, template, context)


def local_day_start(day_offset: int = 0) -> datetime:
    """Midnight (in the active zone) ``day_offset`` days from today, as an aware datetime."""
    zone = timezone.get_current_timezone()
    today = timezone.localdate(timezone=zone) + timedelta(days=day_offset)
    return datetime.combine(today, time.min, tzinfo=zone)


def local_month_start() -> datetime:
    zone = timezone.get_current_timezone()
    today = timezone.localdate(timezone=zone)
    return datetime.combine(today.replace(day=1), time.min, tzinfo=zone)


def parse_local_date(text: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` in the active zone → the start (or the next day's start) in UTC; None.

    None also when that moment lies beyond what a datetime can hold (the day after 9999-12-31,
    or 0001-01-01 east of UTC): every stored time is inside such a bound, so there is nothing
    to filter — and filtering would raise OverflowError when the query converts it to UTC.
    """
    if not text:
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    try:
        if end:
            day += timedelta(days=1)
        local = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
        return local.astimezone(UTC)
    except OverflowError:
        return None
