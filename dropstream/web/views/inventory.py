"""Inventory: warehouse levels, and per store the last value written and when (reference §7.3)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dropstream.inventory.models import InventoryLevel, StoreInventory
from dropstream.web.views.common import page, paginate, query_without


@page
def inventory(request: HttpRequest) -> HttpResponse:
    view = "store" if request.GET.get("view") == "store" else "warehouse"
    q = request.GET.get("q", "").strip()
    if view == "store":
        qs = StoreInventory.objects.visible_to(request.user).select_related("store")
    else:
        qs = InventoryLevel.objects.visible_to(request.user).select_related("warehouse")
    if q:
        qs = qs.filter(sku__istartswith=q)
    context = {"view": view, "q": q, "page": paginate(request, qs),
               "query": query_without(request, "page")}
    return render(request, "web/inventory.html", context)
