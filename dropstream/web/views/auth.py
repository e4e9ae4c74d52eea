"""Log-in with throttling (5 failures per e-mail and address in 15 minutes)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from dropstream.web import throttle


class LoginView(auth_views.LoginView):
    """Django's LoginView that refuses to even check a password while the pair is locked."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs) -> HttpResponse:
        email = request.POST.get("username", "")
        ip = throttle.client_ip(request)
        wait = throttle.seconds_locked(email, ip)
        if wait:
            # An unbound form: binding it would run authenticate(), i.e. check the password.
            form = self.form_class(request, initial={"username": email})
            minutes = max(1, (wait + 59) // 60)
            locked = (f"Too many failed log-ins for this e-mail. Try again in {minutes} "
                      f"minute{'s' if minutes != 1 else ''}, or ask an administrator to reset "
                      "your password.")
            return self.render_to_response(
                self.get_context_data(form=form, locked_message=locked), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        throttle.record_failure(self.request.POST.get("username", ""),
                                throttle.client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        throttle.clear(self.request.POST.get("username", ""), throttle.client_ip(self.request))
        return super().form_valid(form)
