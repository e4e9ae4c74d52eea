"""Token endpoint (§2.2, §2.3), its refusals (§11 #2) and bearer checks (§11 #3)."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.extensiv.conftest import HAL, TPL, Wms, plain_client

TOKEN = "/AuthServer/api/Token"
GRANT_A = {"grant_type": "client_credentials", "user_login": "hub-integration"}


def post_token(wms: Wms, body: object = None, *, auth: tuple[str, str] | None = None,
               **options: object) -> httpx.Response:
    with plain_client(wms.sandbox.base_url) as client:
        return client.post(TOKEN, auth=auth or (wms.client_id, wms.client_secret),
                           json=GRANT_A if body is None else body, **options)


def test_variant_a_answers_the_documented_token_shape(wms: Wms) -> None:
    response = post_token(wms)

    body = response.json()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["refresh_token"], body["scope"]) == (
        "Bearer", 1800, None, None)
    assert body["access_token"].count(".") == 2  # opaque but JWT-looking


def test_variant_b_with_tpl_and_user_login_id_is_accepted(wms: Wms) -> None:
    response = post_token(wms, {"grant_type": "client_credentials", "tpl": TPL.lower(),
                                "user_login_id": "412"})

    assert response.status_code == 200
    with wms.client(token=response.json()["access_token"]) as api:
        assert api.get("/orders").status_code == 200


def test_the_token_lifetime_is_a_setting(wms: Wms) -> None:
    wms.sandbox.settings.update(token_lifetime=3600)

    assert post_token(wms).json()["expires_in"] == 3600


@pytest.mark.parametrize("auth", [("hub-acme", "wrong-secret"), ("nobody", "x")])
def test_a_wrong_client_secret_or_id_is_401_invalid_client(wms: Wms,
                                                           auth: tuple[str, str]) -> None:
    response = post_token(wms, auth=auth)

    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


def test_a_request_without_basic_auth_is_401(wms: Wms) -> None:
    with plain_client(wms.sandbox.base_url) as client:
        response = client.post(TOKEN, json=GRANT_A)

    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


@pytest.mark.parametrize(("body", "error"), [
    ({"grant_type": "password", "user_login": "hub-integration"}, "unsupported_grant_type"),
    ({"user_login": "hub-integration"}, "invalid_request"),
    ({"grant_type": "client_credentials"}, "invalid_request"),
    ({"grant_type": "client_credentials", "tpl": TPL}, "invalid_request"),
    ({"grant_type": "client_credentials", "user_login": "someone-else"}, "invalid_grant"),
    ({"grant_type": "client_credentials", "tpl": "{00000000-0000-0000-0000-000000000000}",
      "user_login_id": 412}, "invalid_grant"),
    ({"grant_type": "client_credentials", "tpl": TPL, "user_login_id": 999}, "invalid_grant"),
    (["not", "an", "object"], "invalid_request"),
])
def test_a_bad_token_body_is_400_with_an_rfc6749_error(wms: Wms, body: object,
                                                       error: str) -> None:
    response = post_token(wms, body)

    assert (response.status_code, response.json()) == (400, {"error": error})


def test_the_aspnet_error_style_answers_message_bodies(wms: Wms) -> None:
    wms.sandbox.settings.update(auth_error_style="aspnet")

    refused = post_token(wms, auth=(wms.client_id, "wrong"))
    bad_grant = post_token(wms, {"grant_type": "password", "user_login": "hub-integration"})

    assert (refused.status_code, refused.json()) == (401, {"Message": "invalid_client"})
    assert (bad_grant.status_code, bad_grant.json()) == (400, {"Message":
                                                               "unsupported_grant_type"})


def test_a_form_encoded_body_is_refused_unless_the_setting_allows_it(wms: Wms) -> None:
    form = {"grant_type": "client_credentials", "user_login": "hub-integration"}
    with plain_client(wms.sandbox.base_url) as client:
        refused = client.post(TOKEN, auth=(wms.client_id, wms.client_secret), data=form)
        wms.sandbox.settings.update(token_accepts_form=True)
        accepted = client.post(TOKEN, auth=(wms.client_id, wms.client_secret), data=form)

    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_request"})
    assert accepted.status_code == 200


def test_a_token_expires_by_the_simulator_clock_and_a_new_one_works(wms: Wms) -> None:
    with wms.client() as api:
        before = api.get("/orders")
        wms.sandbox.clock.advance(1799)
        still = api.get("/orders")
        wms.sandbox.clock.advance(1)
        expired = api.get("/orders")

    with wms.client() as renewed:
        again = renewed.get("/orders")

    assert [before.status_code, still.status_code] == [200, 200]
    assert (expired.status_code, expired.content, expired.headers.get("content-type")) == (
        401, b"", None)
    assert again.status_code == 200


def test_revoking_all_tokens_over_the_control_api_gives_401(wms: Wms,
                                                            control: httpx.Client) -> None:
    with wms.client() as api:
        assert api.get("/orders").status_code == 200
        revoked = control.post("tenants/acme/tokens/expire")
        after = api.get("/orders/1")

    assert (revoked.status_code, revoked.json()) == (200, {"revoked": 1})
    assert after.status_code == 401


@pytest.mark.parametrize("path", ["/orders", "/orders/1", "/inventory/stocksummaries",
                                  "/no/such/path", "/orders/1/cancel"])
def test_every_api_path_without_a_valid_bearer_is_401(wms: Wms, path: str) -> None:
    with plain_client(wms.sandbox.base_url) as client:
        missing = client.get(path, headers={"Accept": HAL})
        unknown = client.post(path, headers={"Authorization": "Bearer nope"}, json={})

    assert (missing.status_code, missing.content) == (401, b"")
    assert (unknown.status_code, unknown.content) == (401, b"")


def test_the_401_body_can_be_the_aspnet_message(wms: Wms) -> None:
    wms.sandbox.settings.update(unauthorized_body="json")
    with plain_client(wms.sandbox.base_url) as client:
        response = client.get("/orders")

    assert (response.status_code, response.json()) == (
        401, {"Message": "Authorization has been denied for this request."})


def test_a_credential_without_the_role_gets_a_bare_403(wms: Wms) -> None:
    wms.sandbox.add_credential("acme", client_id="reader", client_secret="reader-secret",
                               user_login="reader", roles=["OrderView"])
    with plain_client(wms.sandbox.base_url) as client:
        token = client.post(TOKEN, auth=("reader", "reader-secret"),
                            json={"grant_type": "client_credentials", "user_login": "reader"}
                            ).json()["access_token"]
    with wms.client(token=token) as reader:
        listed = reader.get("/orders")
        created = reader.post("/orders", json={})
        stock = reader.get("/inventory/stocksummaries")

    assert listed.status_code == 200
    assert (created.status_code, created.content) == (403, b"")
    assert (stock.status_code, stock.content) == (403, b"")
