"""``/metrics``: the figures of ``scheduling/metrics.py`` for a Prometheus scrape.

Access: a signed-in administrator may always look. With ``DROPSTREAM_METRICS_TOKEN`` set, a
scrape must send ``Authorization: Bearer <token>``; without it, only callers in
``DROPSTREAM_METRICS_NETWORKS`` (loopback by default) are answered. The figures still tell an
outsider how busy which store is.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from dropstream.scheduling.metrics import render_metrics
from dropstream.web.security import address_in, client_address


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when ``request`` may read the metrics; otherwise the answer that says why not."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "is_administrator", False):
        return None
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, offered = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(),
                                                              token.encode()):
            return None
        response = HttpResponse("metrics need Authorization: Bearer <DROPSTREAM_METRICS_TOKEN>\n",
                                status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if address_in(client_address(request), settings.METRICS_NETWORKS):
        return None
    return HttpResponse("metrics answer only callers in DROPSTREAM_METRICS_NETWORKS (loopback "
                        "unless configured); or set DROPSTREAM_METRICS_TOKEN and send it as "
                        "Authorization: Bearer\n", status=403, content_type="text/plain")


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
