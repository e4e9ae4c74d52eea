"""Django settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from dropstream.config import (
    ConfigError,
    data_home,
    database_config,
    env_bool,
    env_choice,
    env_int,
    env_networks,
    env_str,
)
from dropstream.scheduling.queue import SqliteQueueStorage

BASE_DIR = Path(__file__).resolve().parent
HOME = data_home()


def _ensure_home(home: Path) -> Path:
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(exist_ok=True)
        (home / "static").mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"the data directory {home} cannot be created ({exc.strerror}); set DROPSTREAM_HOME "
            "to a writable directory"
        ) from exc
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(
            f"the data directory {home} is not readable and writable by this user; fix its "
            "permissions or set DROPSTREAM_HOME to another directory"
        )
    return home


def _session_key(home: Path) -> str:
    """Django's signing key. Not the encryption key: losing it only logs users out."""
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    path = home / "session.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value)
        return value


_ensure_home(HOME)
SECRET_KEY = _session_key(HOME)
DEBUG = env_bool("DROPSTREAM_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in (env_str("DROPSTREAM_ALLOWED_HOSTS", "*") or "*").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (env_str("DROPSTREAM_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()
]
# Every link that leaves the hub (Push Orders URLs, e-mails, credential links) is built on this,
# never on the request's Host header (see dropstream.web.security.public_url).
PUBLIC_URL = (env_str("DROPSTREAM_PUBLIC_URL", "http://127.0.0.1:8000") or "").rstrip("/")
if urlsplit(PUBLIC_URL).scheme not in ("http", "https") or not urlsplit(PUBLIC_URL).hostname:
    raise ConfigError(f"DROPSTREAM_PUBLIC_URL={PUBLIC_URL!r} is not an http(s) address; use e.g. "
                      "https://hub.example.com")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "dropstream.accounts",
    "dropstream.connections",
    "dropstream.catalog",
    "dropstream.orders",
    "dropstream.shipments",
    "dropstream.inventory",
    "dropstream.intents",
    "dropstream.metering",
    "dropstream.sync",
    "dropstream.scheduling",
    "dropstream.alerts",
    "dropstream.rules",
    "dropstream.api",
    "dropstream.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dropstream.web.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dropstream.urls"
WSGI_APPLICATION = "dropstream.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": database_config(HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# Django's full set: applied by the set-password page, the admin and ``users create``.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DROPSTREAM_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_SECURE = env_bool("DROPSTREAM_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HSTS only makes sense over HTTPS, which is what secure cookies say; Django sends it on
# HTTPS answers only. Not for subdomains: the hub may live beside other sites of one domain.
SECURE_HSTS_SECONDS = env_int("DROPSTREAM_HSTS_SECONDS", 31536000) if SESSION_COOKIE_SECURE else 0
if SECURE_HSTS_SECONDS < 0:
    raise ConfigError(f"DROPSTREAM_HSTS_SECONDS={SECURE_HSTS_SECONDS} must be 0 (off) or more")
SESSION_COOKIE_HTTPONLY = True
# A proxy that terminates HTTPS says so in X-Forwarded-Proto and appends the caller to
# X-Forwarded-For; without one, anybody could send those headers, so they are ignored.
BEHIND_PROXY = env_bool("DROPSTREAM_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Huey: SqliteHuey in the data directory by default, Redis when DROPSTREAM_QUEUE_URL says so.
QUEUE_URL = env_str("DROPSTREAM_QUEUE_URL")
QUEUE_IMMEDIATE = env_bool("DROPSTREAM_QUEUE_IMMEDIATE", False)
if QUEUE_URL and QUEUE_URL.startswith(("redis://", "rediss://")):
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("DROPSTREAM_QUEUE_NAME", "dropstream"),
        "url": QUEUE_URL,
        "immediate": QUEUE_IMMEDIATE,
        "utc": True,
    }
elif QUEUE_URL:
    raise ConfigError(f"DROPSTREAM_QUEUE_URL={QUEUE_URL!r} is not a redis:// URL; unset it to use "
                      "the embedded queue")
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "dropstream",
        "filename": str(HOME / "queue.db"),
        "storage_class": SqliteQueueStorage,
        "immediate": QUEUE_IMMEDIATE,
        "utc": True,
    }

# Django's cache holds the log-in failure counts (dropstream.web.throttle), so it must be shared
# by every process: the database (table dropstream_cache, made by `dropstream init`/`run`) when
# there is no Redis, the queue's Redis when scaled out, or DROPSTREAM_CACHE_URL.
CACHE_URL = env_str("DROPSTREAM_CACHE_URL") or (
    QUEUE_URL if QUEUE_URL and QUEUE_URL.startswith(("redis://", "rediss://")) else "database")
if CACHE_URL == "database":
    CACHES = {"default": {
        "BACKEND": "dropstream.cache.AtomicDatabaseCache",
        "LOCATION": "dropstream_cache",
        # Culling drops a third of the rows when there are more: high enough that a flood of
        # made-up e-mails cannot cull the counters that lock an address.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }}
elif CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": CACHE_URL, "KEY_PREFIX": "dropstream"}}
else:
    raise ConfigError(f"DROPSTREAM_CACHE_URL={CACHE_URL!r} must be 'database' or a redis:// URL")


def _positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value <= 0:
        raise ConfigError(f"{name}={value} must be a positive whole number")
    return value


# Runs and the scheduler (dropstream.scheduling). RUN_FUNCTION is what a worker calls for a run:
# dotted path to a function shaped like dropstream.sync.runner.run_channel.
RUN_FUNCTION = env_str("DROPSTREAM_RUN_FUNCTION", "dropstream.sync.runner.run_channel")
RUN_LEASE_SECONDS = _positive("DROPSTREAM_RUN_LEASE_SECONDS", 120)
RUN_MAX_ATTEMPTS = _positive("DROPSTREAM_RUN_MAX_ATTEMPTS", 3)
RUN_RETRY_SECONDS = _positive("DROPSTREAM_RUN_RETRY_SECONDS", 60)
RUN_RESEND_SECONDS = _positive("DROPSTREAM_RUN_RESEND_SECONDS", 300)
# Seconds one run may wait on a failing remote inside its worker thread (retry backoffs,
# Retry-After, attempts that timed out); past that the request gives up and the run goes back
# to the queue with its RUN_RETRY_SECONDS delay (issue 17). 0: no waiting in the thread at all.
RUN_RETRY_SLEEP_SECONDS = env_int("DROPSTREAM_RUN_RETRY_SLEEP_SECONDS", 15)
if RUN_RETRY_SLEEP_SECONDS < 0:
    raise ConfigError(f"DROPSTREAM_RUN_RETRY_SLEEP_SECONDS={RUN_RETRY_SLEEP_SECONDS} must be 0 "
                      "or more")
SCHEDULER_TICK_SECONDS = _positive("DROPSTREAM_SCHEDULER_TICK_SECONDS", 5)
SCHEDULER_BATCH = _positive("DROPSTREAM_SCHEDULER_BATCH", 1000)
BUDGET_REFRESH_SECONDS = _positive("DROPSTREAM_BUDGET_REFRESH_SECONDS", 300)
WORKERS = _positive("DROPSTREAM_WORKERS", 4)
# Log-in throttling (dropstream.web.throttle): this many failures within the window lock the
# account (from anywhere) or the address (for any e-mail) for the window's length.
LOGIN_FAILURES_PER_ACCOUNT = _positive("DROPSTREAM_LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = _positive("DROPSTREAM_LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCK_SECONDS = _positive("DROPSTREAM_LOGIN_LOCK_SECONDS", 15 * 60)
METRICS_TOKEN = env_str("DROPSTREAM_METRICS_TOKEN")
# Without a token, /metrics answers only callers in these networks (loopback by default).
METRICS_NETWORKS = env_networks("DROPSTREAM_METRICS_NETWORKS", "127.0.0.0/8,::1")


EMAIL_BACKEND = env_str("DROPSTREAM_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DROPSTREAM_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("DROPSTREAM_SMTP_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DROPSTREAM_FROM_EMAIL", "dropstream@localhost")

LOG_FORMAT = env_choice("DROPSTREAM_LOG_FORMAT", "text", ("text", "json"))
LOG_LEVEL = env_choice("DROPSTREAM_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "dropstream.logs.RedactingFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "dropstream.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # httpx logs every request URL at INFO; Bright Sites tokens may ride in the query.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "paramiko": {"level": "WARNING"},
        # Django's own handlers for these (DEBUG console, runserver's django.server) write
        # request paths unfiltered; drop them so every line passes the redacting console.
        "django": {"level": "INFO", "handlers": [], "propagate": True},
        "django.server": {"level": "INFO", "handlers": [], "propagate": True},
    },
}

# Local warehouse folders (file:///): only under this root, in the merchant's own subfolder
# ``merchant-<id>/`` unless LOCAL_WAREHOUSE_SHARED (one merchant running the hub alone).
LOCAL_WAREHOUSE_ROOT = Path(env_str("DROPSTREAM_LOCAL_WAREHOUSE_ROOT", "") or HOME / "warehouses")
LOCAL_WAREHOUSE_SHARED = env_bool("DROPSTREAM_LOCAL_WAREHOUSE_SHARED", False)
