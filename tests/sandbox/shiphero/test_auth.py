"""Tokens (spec §2): refresh, expiry on the simulator clock, the expire fault, error forms."""

from __future__ import annotations

from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret
from tests.sandbox.shiphero.conftest import World

QUOTA = "{ user_quota { credits_remaining max_available increment_rate } }"


def test_refresh_returns_a_28_day_bearer_token(world: World) -> None:
    response = world.refresh()

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["expires_in"] == 2419200
    assert body["scope"] == "openid profile offline_access"
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("eyJ")
    assert world.gql(QUOTA, token=body["access_token"])["data"] == {
        "user_quota": {"credits_remaining": 4003, "max_available": 4004, "increment_rate": 60}}


def test_the_refresh_token_is_static_and_each_refresh_gives_a_new_access_token(
        world: World) -> None:
    first, second = world.refresh().json(), world.refresh().json()

    assert first["access_token"] != second["access_token"]
    assert world.post(QUOTA, token=first["access_token"]).status_code == 200
    assert world.post(QUOTA, token=second["access_token"]).status_code == 200


def test_an_unknown_refresh_token_is_refused(world: World) -> None:
    response = world.refresh(make_secret("bogus"))

    assert response.status_code == 403
    assert response.json() == {"error": "access_denied",
                               "error_description": "Unknown or invalid refresh token."}


def test_the_access_token_expires_after_28_simulated_days(world: World) -> None:
    token = world.token()
    world.sim.clock.advance(2419199)
    assert world.post(QUOTA, token=token).status_code == 200

    world.sim.clock.advance(1)
    response = world.post(QUOTA, token=token)

    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert [(e["message"], e["code"]) for e in body["errors"]] == [
        ("The access token is expired", 401)]
    assert len(body["errors"][0]["request_id"]) == 24
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    fresh = world.refresh().json()["access_token"]
    assert world.post(QUOTA, token=fresh).status_code == 200


def test_the_expire_now_fault_over_the_control_endpoint(world: World) -> None:
    token = world.token()

    answer = world.control("POST", "/tokens/expire", {})

    assert answer.json() == {"expired": 1}
    assert world.post(QUOTA, token=token).json()["errors"][0]["message"] == (
        "The access token is expired")


def test_the_expired_token_error_can_be_a_graphql_error_with_200(world: World) -> None:
    world.sim.configure(auth_error_status=200)
    token = world.token()
    world.sim.expire_tokens()

    response = world.post(QUOTA, token=token)

    assert response.status_code == 200
    assert response.json()["errors"][0]["code"] == 401


def test_missing_and_invalid_tokens(world: World) -> None:
    missing = world.http.post(world.sim.graphql_url, json={"query": QUOTA})
    invalid = world.post(QUOTA, token=make_secret("nope"))

    assert missing.status_code == 401
    assert missing.json()["errors"][0]["message"] == (
        "Authorization header with a Bearer token is required")
    assert invalid.status_code == 401
    assert invalid.json()["errors"][0]["message"] == "Invalid token"


def test_a_suspended_account_gets_tokens_that_do_not_work(world: World) -> None:
    world.sim.suspend_account(world.brand)

    refreshed = world.refresh()
    call = world.post(QUOTA, token=refreshed.json()["access_token"])

    assert refreshed.status_code == 200
    assert call.status_code == 401
    assert call.json()["errors"][0]["message"] == "The account is not active"


def test_username_password_login_returns_both_tokens(world: World) -> None:
    password = make_secret("pw")
    info = world.sim.add_account("Login Co", username="ops@login.example", password=password)

    response = world.http.post(world.sim.token_url,
                               json={"username": "ops@login.example", "password": password})
    wrong = world.http.post(world.sim.token_url,
                            json={"username": "ops@login.example", "password": "x"})

    assert response.status_code == 200
    assert response.json()["refresh_token"] == info.refresh_token
    assert response.json()["expires_in"] == 2419200
    assert wrong.status_code == 403


def test_the_meter_and_control_overview_never_show_tokens(world: World) -> None:
    world.gql(QUOTA)
    world.refresh(make_secret("bad"))

    snapshot = world.control("GET", "/meter").text + world.control("GET", "").text

    assert SECRET_MARKER not in snapshot
    assert world.token() not in snapshot
    meter = world.sim.meter_snapshot()["requests"]
    assert meter["by_operation"] == {"auth/refresh": 2, "user_quota": 1}
    assert meter["by_status"] == {"200": 2, "403": 1}
