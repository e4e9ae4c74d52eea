"""The `dropstream` command, run as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.xdist_group("cli")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dropstream(home: Path, *args: str, env: dict | None = None, **kwargs):
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("DROPSTREAM_SECRET_KEY", "DATABASE_URL", "DROPSTREAM_QUEUE_IMMEDIATE")}
    full_env["DROPSTREAM_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "dropstream.cli", *args], env=full_env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_init_creates_the_key_and_database(tmp_path):
    result = dropstream(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret.key").exists()
    assert (tmp_path / "dropstream.db").exists()
    # The log-in throttle's database cache table is made with the schema.
    import sqlite3

    with sqlite3.connect(tmp_path / "dropstream.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "dropstream_cache" in tables


def test_run_serves_healthz_and_a_login_page(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["DROPSTREAM_HOME"] = str(tmp_path)
    env.pop("DROPSTREAM_SECRET_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "run", "--port",
                                str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        login = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True, timeout=5)
        assert login.status_code == 200
        assert 'name="password"' in login.text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_users_create_then_a_duplicate_is_one_clear_line(tmp_path):
    ok = dropstream(tmp_path, "users", "create", "--email", "ops@example.com", "--password",
                    "longenough1", "--role", "administrator")
    assert ok.returncode == 0, ok.stderr
    again = dropstream(tmp_path, "users", "create", "--email", "ops@example.com", "--password",
                       "longenough1", "--role", "administrator")
    assert again.returncode == 2
    assert again.stderr.strip() == "dropstream: a user with e-mail ops@example.com already exists"


def test_a_merchant_user_needs_a_merchant(tmp_path):
    result = dropstream(tmp_path, "users", "create", "--email", "m@example.com", "--password",
                        "longenough1", "--role", "merchant")
    assert result.returncode == 2
    assert "needs exactly one merchant" in result.stderr


def test_a_malformed_database_url_stops_with_one_line(tmp_path):
    result = dropstream(tmp_path, "init", env={"DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "DATABASE_URL has scheme 'mysql'" in result.stderr
    assert not (tmp_path / "dropstream.db").exists()


def test_a_port_in_use_stops_with_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = dropstream(tmp_path, "run", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_an_unwritable_data_directory_stops_with_one_line(tmp_path):
    home = tmp_path / "file-not-dir"
    home.write_text("x")
    result = dropstream(home, "init")
    assert result.returncode == 2
    assert "the data directory" in result.stderr and "DROPSTREAM_HOME" in result.stderr


def _store_with_a_secret(home: Path) -> None:
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dropstream.settings';"
        "django.setup();"
        "from dropstream.connections import actions;"
        "m = actions.create_merchant('M');"
        "actions.create_store(m, name='S', platform='brightsites',"
        " adapter={'subdomain': 'acme', 'api_token': 'abcSeCrEtZ123'})"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DROPSTREAM_SECRET_KEY", "DATABASE_URL")}
    env["DROPSTREAM_HOME"] = str(home)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)


def test_a_missing_key_over_existing_secrets_refuses_to_start(tmp_path):
    assert dropstream(tmp_path, "init").returncode == 0
    _store_with_a_secret(tmp_path)
    (tmp_path / "secret.key").unlink()
    result = dropstream(tmp_path, "run", "--port", str(free_port()))
    assert result.returncode == 2
    assert "encrypted secrets exist but the key is missing" in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_a_wrong_key_refuses_to_start(tmp_path):
    assert dropstream(tmp_path, "init").returncode == 0
    _store_with_a_secret(tmp_path)
    (tmp_path / "secret.key").write_text("bm90LXRoZS1yaWdodC1rZXktYXQtYWxsLTMyYnl0ZXM=\n")
    result = dropstream(tmp_path, "check")
    assert result.returncode == 1
    assert "WRONG" in result.stdout
    started = dropstream(tmp_path, "init")
    assert started.returncode == 2
    assert "does not open the stored secrets" in started.stderr


def test_sync_run_prints_a_summary_and_exits_non_zero_when_the_store_is_unreachable(tmp_path):
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["DROPSTREAM_HOME"] = str(tmp_path / "home")
    setup = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.connection_setup", "http://127.0.0.1:9/acme/api/v2.6.1",
         "acme", "tokSeCrEtZ0123456789", str(root)], env=env, capture_output=True, text=True,
        timeout=120)
    assert setup.returncode == 0, setup.stderr
    connection_id = setup.stdout.strip().splitlines()[-1]
    result = subprocess.run([sys.executable, "-m", "dropstream.cli", "sync", "run",
                             connection_id, "--channel", "sales_order"], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 1
    assert "Summary" in result.stdout and "importing orders from the store" in result.stdout
    assert "Failed:" in result.stdout
    assert "SeCrEtZ" not in result.stdout + result.stderr


@pytest.mark.parametrize(("password", "message"), [
    ("12345678", "This password is too common. This password is entirely numeric."),
    ("ab1", "This password is too short. It must contain at least 8 characters."),
    ("ops.example.com", "The password is too similar to the e-mail."),
])
def test_users_create_refuses_a_weak_password(tmp_path, password, message):
    weak = dropstream(tmp_path, "users", "create", "--email", "ops@example.com", "--password",
                      password, "--role", "administrator")
    assert weak.returncode == 2
    assert weak.stderr == f"dropstream: password: {message}\n"
    # Nothing was created: the same e-mail with a good password is not "already exists".
    ok = dropstream(tmp_path, "users", "create", "--email", "ops@example.com", "--password",
                    "Tangerine-Bicycle-42", "--role", "administrator")
    assert ok.returncode == 0, ok.stderr


def test_the_first_administrators_password_goes_to_a_private_file_not_stdout(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",
                                                             "DROPSTREAM_SECRET_KEY")}
    env.update(DROPSTREAM_HOME=str(tmp_path), DROPSTREAM_ADMIN_EMAIL="owner@example.com")
    process = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "run", "--port",
                                str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("DropStream is serving"):
                break
        path = tmp_path / "initial-admin-password"
        assert lines[0] == (f"First start: log in as owner@example.com with the password in "
                            f"{path} (readable only by you; change the password under "
                            "Admin → Users, then delete the file)\n")
        assert path.stat().st_mode & 0o777 == 0o600
        password = path.read_text(encoding="ascii").strip()
        assert len(password) >= 16
        assert password not in "".join(lines)
        deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine
        while True:  # "serving" is printed just before the server binds
            try:
                wrong = httpx.post(f"http://127.0.0.1:{port}/api/auth/token",
                                   auth=("owner@example.com", "not-it"), timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert wrong.status_code == 401  # counted in the fresh database cache, no 500
        token = httpx.post(f"http://127.0.0.1:{port}/api/auth/token",
                           auth=("owner@example.com", password), timeout=10)
        assert token.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
