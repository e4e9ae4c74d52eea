"""Users (administrators only): list and invite with a role (reference §11); own profile."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from dropstream.accounts.models import User
from dropstream.web.forms import InviteUserForm, ProfileForm
from dropstream.web.security import public_url
from dropstream.web.views.common import page, paginate


@page(admin=True)
def user_list(request: HttpRequest) -> HttpResponse:
    qs = User.objects.select_related("merchant").prefetch_related("merchants").order_by("email")
    return render(request, "web/users/list.html", {"page": paginate(request, qs)})


def invite_user(data: dict, *, request: HttpRequest) -> User:
    """Create the user with no usable password and e-mail a one-time link to set one.

    The link is Django's password-reset token: it stops working once the password is set.
    """
    with transaction.atomic():
        user = User.objects.create_user(
            data["email"], None, first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""), role=data["role"],
            merchant=data.get("merchant"), time_zone=data.get("time_zone") or "UTC")
        if data.get("merchants"):
            user.merchants.set(data["merchants"])
    link = public_url(reverse("web:set-password", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user)}))
    body = render_to_string("web/users/invite_email.txt",
                            {"user": user, "link": link, "inviter": request.user})
    send_mail("You are invited to DropStream", body, None, [user.email])
    return user


@page(admin=True)
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = invite_user(form.cleaned_data, request=request)
        messages.success(request, f"Invitation sent to {user.email}.")
        return redirect("web:users")
    return render(request, "web/users/invite.html", {"form": form},
                  status=422 if request.method == "POST" else 200)


@page
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        request.user.time_zone = form.cleaned_data["time_zone"]
        request.user.save(update_fields=["time_zone"])
        messages.success(request, "Profile saved.")
        return redirect("web:profile")
    return render(request, "web/users/profile.html", {"form": form},
                  status=422 if request.method == "POST" else 200)
