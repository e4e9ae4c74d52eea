"""Log-in pages with throttling (``dropstream.web.throttle``): the hub's and the admin's."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from dropstream.web import throttle


def _locked(request: HttpRequest) -> HttpResponse | None:
    """The 429 page when the POSTed e-mail or the caller's address is locked; else None.

    The form is unbound: binding it would run authenticate(), i.e. check the password.
    """
    email = request.POST.get("username", "")
    wait = throttle.seconds_locked(email, throttle.client_ip(request))
    if not wait:
        return None
    form = AuthenticationForm(request, initial={"username": email})
    response = render(request, "registration/login.html",
                      {"form": form, "locked_message": throttle.locked_message(wait),
                       "next": request.POST.get("next", "")}, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    """Django's LoginView that refuses to even check a password while locked."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs) -> HttpResponse:
        return _locked(request) or super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        throttle.record_failure(self.request.POST.get("username", ""),
                                throttle.client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        throttle.clear(self.request.POST.get("username", ""), throttle.client_ip(self.request))
        return super().form_valid(form)


@never_cache
def admin_login(request: HttpRequest, **kwargs) -> HttpResponse:
    """The admin's own log-in page (``/admin/login/``), counted and locked with ours: without
    this it was a way around the throttle."""
    if request.method != "POST":
        return admin.site.login(request, **kwargs)
    locked = _locked(request)
    if locked is not None:
        return locked
    response = admin.site.login(request, **kwargs)
    email, ip = request.POST.get("username", ""), throttle.client_ip(request)
    # The admin answers a good log-in with a redirect; a refused one redisplays the form.
    if response.status_code == 302 and request.user.is_authenticated:
        throttle.clear(email, ip)
    else:
        throttle.record_failure(email, ip)
    return response
