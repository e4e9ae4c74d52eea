"""The Push Orders endpoint: ``POST /hooks/brightsites/<secret>``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dropstream.connections.models import Store
from dropstream.sync.push import MAX_BODY, PushRejected, receive


@csrf_exempt
@require_POST
def brightsites_push(request: HttpRequest, secret: str) -> JsonResponse:
    store = Store.objects.filter(push_secret=secret, platform="brightsites").first()
    if store is None:
        return JsonResponse({"error": "not found"}, status=404)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        return JsonResponse({"error": "the body is larger than 1 MB"}, status=413)
    body = request.read(MAX_BODY + 1)
    try:
        delivery = receive(store, body)
    except PushRejected as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse({"status": "accepted", "id": delivery.pk})
