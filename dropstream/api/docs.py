"""The docs page at ``/api/docs``, with Swagger UI served from django-ninja's own files.

Ninja falls back to a CDN unless ``ninja`` is an installed app; the hub must work offline and
never send its users' browsers elsewhere, so the three files are served from the package here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from ninja.openapi.docs import Swagger

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body>
  <script type="application/json" id="swagger-settings">{settings}</script>
  <div id="swagger-ui"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script src="{assets}swagger-ui-init.js"></script>
</body>
</html>
"""


class LocalSwagger(Swagger):
    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        assets = reverse("api:docs-asset", kwargs={"name": "x"})[:-1]
        # "</" cannot close the script element from inside the JSON.
        settings = json.dumps(self.settings).replace("</", "<\\/")
        return HttpResponse(PAGE.format(title=escape(api.title), assets=assets,
                                        settings=settings))


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """One of the Swagger UI files, by exact name only."""
    if name not in ASSETS:
        raise Http404(name)
    response = FileResponse((ASSETS_DIR / name).open("rb"), content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response
