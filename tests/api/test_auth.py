"""POST /api/auth/token and bearer authentication (reference §13.1)."""

from __future__ import annotations

import base64
import time

from dropstream.api.auth import issue_token


def _basic(email: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_it_issues_a_bearer_token_for_basic_credentials(api_as, staff_user):
    client = api_as(None)
    response = client.post("/api/auth/token", {"grant_type": "client_credentials"},
                           headers=_basic("staff@example.com", "pw-staff-1"))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2  # a JWT, like the reference's
    client.token = body["access_token"]
    assert client.get("/api/customers").status_code == 200


def test_it_refuses_a_wrong_password_with_a_json_401(api_as, staff_user):
    response = api_as(None).post("/api/auth/token", {"grant_type": "client_credentials"},
                                 headers=_basic("staff@example.com", "wrong-password"))
    assert response.status_code == 401
    assert response.json() == {"detail": "the e-mail or password is wrong"}
    assert response["WWW-Authenticate"].startswith("Basic")


def test_it_refuses_an_unknown_grant_type(api_as, staff_user):
    response = api_as(None).post("/api/auth/token", {"grant_type": "password"},
                                 headers=_basic("staff@example.com", "pw-staff-1"))
    assert response.status_code == 422
    assert "grant_type" in response.json()["errors"]


def test_it_answers_401_json_without_a_token(api_as, staff_user):
    response = api_as(None).get("/api/stores")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_401_for_an_expired_token(api_as, staff_user):
    client = api_as(staff_user)
    client.token = issue_token(staff_user, now=time.time() - 3601)[0]
    response = client.get("/api/stores")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_it_answers_401_for_a_forged_token(api_as, staff_user, admin_user):
    client = api_as(staff_user)
    header, claims, signature = client.token.split(".")
    admin_claims = issue_token(admin_user)[0].split(".")[1]
    client.token = f"{header}.{admin_claims}.{signature}"
    response = client.get("/api/stores")
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]


def test_it_answers_401_for_a_garbage_token(api_as, staff_user):
    client = api_as(staff_user)
    client.token = "not-a-token"
    assert client.get("/api/stores").status_code == 401


def test_changing_the_password_revokes_issued_tokens(api_as, staff_user):
    client = api_as(staff_user)
    assert client.get("/api/stores").status_code == 200
    staff_user.set_password("a-new-password-1")
    staff_user.save()
    response = client.get("/api/stores")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_deactivated_user_loses_access(api_as, staff_user):
    client = api_as(staff_user)
    staff_user.is_active = False
    staff_user.save()
    assert client.get("/api/stores").status_code == 401


def test_the_token_body_may_be_left_out(api_as, staff_user):
    response = api_as(None).post("/api/auth/token",
                                 headers=_basic("staff@example.com", "pw-staff-1"))
    assert response.status_code == 200


def test_the_openapi_document_and_docs_need_no_token(api_as, db):
    client = api_as(None)
    document = client.get("/api/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert len(paths) == 29
    assert "/api/stores/{store_id}/rules/{rule_id}/activate" in paths
    assert "/api/shipments/{id}/actions/{action}" in paths
    assert "/api/connections/{id}/channels/{channel_id}/runs/{run_id}" in paths
    assert document.json()["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"/api/docs/assets/swagger-ui-bundle.js" in docs.content
    assert b"https://" not in docs.content  # served locally: the hub works offline
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "text/javascript"
    assert client.get("/api/docs/assets/..%2Fsettings.py").status_code == 404


def test_repeated_wrong_passwords_lock_the_login_out(api_as, db):
    from dropstream.accounts.models import User

    User.objects.create_user("locked@example.com", "pw-right-1", role="staff")
    client = api_as(None)
    for _ in range(5):
        assert client.post("/api/auth/token", headers=_basic("locked@example.com",
                                                             "wrong")).status_code == 401
    locked = client.post("/api/auth/token", headers=_basic("locked@example.com", "pw-right-1"))
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 900
