"""Security headers: a Content-Security-Policy on every answer, HSTS over HTTPS with secure
cookies, and X-Forwarded-Proto believed only behind a proxy (issue 18 #14)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def secure(settings, *, behind_proxy: bool) -> None:
    """What settings.py derives from DROPSTREAM_SECURE_COOKIES=true and DROPSTREAM_BEHIND_PROXY
    (the derivation itself is checked by test_settings_derive_them_from_the_environment)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.BEHIND_PROXY = behind_proxy
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy \
        else None


@pytest.mark.parametrize("path", ["/login/", "/healthz", "/admin/login/", "/api/docs"])
def test_every_answer_carries_the_content_security_policy(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CSP


def test_behind_a_proxy_with_secure_cookies_https_answers_carry_hsts(db, settings):
    secure(settings, behind_proxy=True)
    response = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert response["Content-Security-Policy"] == CSP
    assert response.wsgi_request.is_secure() is True
    plain = Client().get("/login/")
    assert "Strict-Transport-Security" not in plain


def test_x_forwarded_proto_is_ignored_unless_behind_a_proxy(db, settings):
    secure(settings, behind_proxy=False)
    response = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.wsgi_request.is_secure() is False
    assert response.wsgi_request.build_absolute_uri("/") == "http://testserver/"
    assert "Strict-Transport-Security" not in response


def _settings_of(env: dict[str, str], *names: str) -> list[str]:
    script = ("import os, django; os.environ['DJANGO_SETTINGS_MODULE']='dropstream.settings';"
              "django.setup(); from django.conf import settings;"
              f"print('|'.join(repr(getattr(settings, n)) for n in {list(names)!r}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("DROPSTREAM_SECURE")
            and not k.startswith(("DROPSTREAM_BEHIND", "DROPSTREAM_HSTS"))}
    result = subprocess.run([sys.executable, "-c", script], env={**base, **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_settings_derive_them_from_the_environment():
    names = ("SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE")
    assert _settings_of({}, *names) == ["None", "0", "False"]
    assert _settings_of({"DROPSTREAM_SECURE_COOKIES": "true"}, *names) == [
        "None", "31536000", "True"]
    assert _settings_of({"DROPSTREAM_SECURE_COOKIES": "true", "DROPSTREAM_BEHIND_PROXY": "true",
                         "DROPSTREAM_HSTS_SECONDS": "600"}, *names) == [
        "('HTTP_X_FORWARDED_PROTO', 'https')", "600", "True"]


def test_no_template_needs_inline_script():
    # The policy has no 'unsafe-inline' for scripts: a handler attribute or an inline <script>
    # would silently stop working in the browser.
    import re
    from pathlib import Path

    import dropstream

    root = Path(dropstream.__file__).parent
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")|"
                        r"\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    offenders = [f"{path.relative_to(root)}: {match.group(0).strip()}"
                 for path in root.glob("**/templates/**/*.html")
                 for match in inline.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_a_public_url_that_is_not_http_stops_the_start():
    script = "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='dropstream.settings'; django.setup()"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "DROPSTREAM_PUBLIC_URL": "evil.example/x"},
                            timeout=60)
    assert result.returncode != 0
    assert "DROPSTREAM_PUBLIC_URL='evil.example/x' is not an http(s) address" in result.stderr
