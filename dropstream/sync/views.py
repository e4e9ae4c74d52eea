"""The hook endpoint: ``POST /hooks/<platform>/<secret>`` (a store's Push Orders, a warehouse's
webhooks). It only finds the owner, keeps the body and answers at once."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dropstream.platforms.base import HookRejected
from dropstream.sync.push import MAX_BODY, find_owner, receive


@csrf_exempt
@require_POST
def hook(request: HttpRequest, platform: str, secret: str) -> JsonResponse:
    owner = find_owner(platform, secret)
    if owner is None:
        return JsonResponse({"error": "not found"}, status=404)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        return JsonResponse({"error": "the body is larger than 1 MB"}, status=413)
    body = request.read(MAX_BODY + 1)
    try:
        rows = receive(owner, body, dict(request.headers))
    except HookRejected as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    accepted = [row.pk for row in rows if row.state != "ignored"]
    spec = owner.platform_spec.hooks()
    extra = dict(spec.accepted) if spec is not None else {}
    return JsonResponse({**extra, "status": "accepted", "id": accepted[0] if accepted else None,
                         "ids": [row.pk for row in rows]})
