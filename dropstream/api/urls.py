"""``/api/``: the NinjaAPI, and JSON (never HTML) for unknown paths and wrong methods."""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from dropstream.api.api import api
from dropstream.api.docs import docs_asset
from dropstream.api.errors import error_response


def _json_method_errors(view):
    """Ninja answers a wrong method with an empty 405; give it a JSON body naming the allowed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"):
            allowed = response.get("Allow", "")
            replacement = error_response(405, f"method {request.method} is not allowed here; "
                                              f"use {allowed}")
            replacement["Allow"] = allowed
            return replacement
        return response

    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(404, f"no API endpoint at /api/{path}; see /api/docs")


def _patterns() -> list:
    patterns, _app, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_method_errors(pattern.callback)
    return patterns


app_name = "api"
urlpatterns = [
    *_patterns(),
    path("docs/assets/<str:name>", docs_asset, name="docs-asset"),
    re_path(r"^(?P<path>.*)$", not_found),
]
