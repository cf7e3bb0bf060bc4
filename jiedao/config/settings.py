"""jiedao settings: the only settings file. Every value comes from the environment and a bad value
stops start-up with a message that names the variable and what was wrong."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("JIEDAO_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def _env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.")
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(
            f"{name}={value} is out of range: it must be between {minimum} and {maximum}."
        )
    return value


def _env_url(name: str, default: str, schemes: set[str]) -> str:
    raw = os.environ.get(name) or default
    if not raw:
        return ""
    scheme = urlparse(raw).scheme
    if scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name}={raw!r} has scheme {scheme!r}; expected one of: {', '.join(sorted(schemes))}."
        )
    return raw


DEBUG = _env_bool("JIEDAO_DEBUG", False)
TESTING = _env_bool("JIEDAO_TESTING", "pytest" in sys.modules)
# Development keys are allowed only in debug or test mode; production refuses to start without real ones.
_DEV_MODE = DEBUG or TESTING

SECRET_KEY = os.environ.get("JIEDAO_SECRET_KEY", "")
if not SECRET_KEY:
    if not _DEV_MODE:
        raise ImproperlyConfigured(
            "JIEDAO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set JIEDAO_DEBUG=1 for development."
        )
    SECRET_KEY = "jiedao-development-only-secret-key-not-for-production-use-0123456789"
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("JIEDAO_SECRET_KEY is too short: use at least 32 characters.")


def _field_key() -> bytes:
    raw = os.environ.get("JIEDAO_FIELD_KEY", "")
    if not raw:
        if not _DEV_MODE:
            raise ImproperlyConfigured(
                "JIEDAO_FIELD_KEY is not set. It encrypts personal data: set it to 32 random bytes in base64 "
                "(python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')."
            )
        return b"jiedao-dev-field-key-32-bytes!!!"
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ImproperlyConfigured("JIEDAO_FIELD_KEY is not valid base64.")
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"JIEDAO_FIELD_KEY decodes to {len(key)} bytes; it must be exactly 32 bytes."
        )
    return key


FIELD_KEY = _field_key()

# The public base URL printed in QR codes (e.g. https://jiedao.example.org); empty = the request host.
PUBLIC_URL = os.environ.get("JIEDAO_PUBLIC_URL", "").rstrip("/")

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("JIEDAO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("JIEDAO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "jiedao.core",
    "jiedao.org",
    "jiedao.registry",
    "jiedao.places",
    "jiedao.work",
    "jiedao.protocols",
    "jiedao.screening",
    "jiedao.control",
    "jiedao.sensors",
    "jiedao.nat",
    "jiedao.tracing",
    "jiedao.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jiedao.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jiedao.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "jiedao.core.middleware.ErrorMiddleware",
]

ROOT_URLCONF = "jiedao.config.urls"
WSGI_APPLICATION = "jiedao.config.wsgi.application"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "org:login"
LOGIN_REDIRECT_URL = "home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jiedao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "jiedao.core.context.shell",
            ],
        },
    }
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = _env_url(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'jiedao.sqlite3'}", {"sqlite", "postgres", "postgresql"}
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    import sqlite3

    if sqlite3.sqlite_version_info < (3, 35):  # bulk inserts return their ids from 3.35 on
        raise ImproperlyConfigured(
            f"SQLite 3.35 or later is needed; this Python has {sqlite3.sqlite_version}."
        )
    # WAL lets readers and one writer work side by side; IMMEDIATE avoids lock upgrades mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _env_url("REDIS_URL", "", {"redis", "rediss"})
MQTT_URL = _env_url("MQTT_URL", "", {"mqtt", "mqtts", "tcp"})

if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "jiedao", "url": REDIS_URL, "immediate": False}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "jiedao",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
    }
if TESTING:
    HUEY["immediate"] = True

# Shared cache (login throttling, ...): Redis when configured, else per-process memory.
if REDIS_URL and not TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jiedao"}}
# After this many wrong passwords for one username from one address, sign-in pauses for the window.
LOGIN_MAX_FAILURES = _env_int("JIEDAO_LOGIN_MAX_FAILURES", 5, minimum=1, maximum=1000)
LOGIN_FAILURE_WINDOW = _env_int("JIEDAO_LOGIN_FAILURE_WINDOW", 15 * 60, minimum=10, maximum=24 * 3600)

SESSION_COOKIE_AGE = _env_int("JIEDAO_SESSION_AGE", 8 * 3600, minimum=300, maximum=30 * 24 * 3600)
SESSION_SAVE_EVERY_REQUEST = True  # idle expiry: the age counts from the last request
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("JIEDAO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "jiedao" / "locale"]
TIME_ZONE = os.environ.get("JIEDAO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The largest spreadsheet an import accepts; larger files are refused before parsing.
IMPORT_MAX_BYTES = _env_int("JIEDAO_IMPORT_MAX_MB", 50, minimum=1, maximum=1024) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024

# Overdue work escalates to the supervisor after this many minutes past due.
WORK_ESCALATE_AFTER_MINUTES = _env_int(
    "JIEDAO_WORK_ESCALATE_AFTER_MINUTES", 60, minimum=0, maximum=7 * 24 * 60
)

# The slots of a home case's five-for-one care team (五包一), as org roles, comma-separated.
_CARE_TEAM_ROLES = {"command", "community_staff", "grid_worker", "doctor", "police", "volunteer", "inspector"}
# Presence data for tracing (venue scans, cell records) is kept this many days, then purged.
PRESENCE_RETENTION_DAYS = _env_int("JIEDAO_PRESENCE_RETENTION_DAYS", 28, minimum=1, maximum=3650)

# Door sensors: a sensor on a door that says nothing for this long raises an alert; an alert nobody
# acknowledges within SENSOR_ACK_MINUTES escalates; events older than this many hours are refused.
SENSOR_SILENT_AFTER_MINUTES = _env_int("JIEDAO_SENSOR_SILENT_AFTER_MINUTES", 30, minimum=2, maximum=24 * 60)
SENSOR_ACK_MINUTES = _env_int("JIEDAO_SENSOR_ACK_MINUTES", 5, minimum=1, maximum=24 * 60)
SENSOR_MAX_EVENT_AGE_HOURS = _env_int("JIEDAO_SENSOR_MAX_EVENT_AGE_HOURS", 72, minimum=1, maximum=30 * 24)
# The bridge drops (and logs) a device's events beyond this many per second: a flood, not a door.
SENSOR_MAX_EVENTS_PER_SECOND = _env_int("JIEDAO_SENSOR_MAX_EVENTS_PER_SECOND", 20, minimum=1, maximum=10000)

CONTROL_CARE_TEAM = [
    r.strip()
    for r in os.environ.get(
        "JIEDAO_CONTROL_CARE_TEAM", "community_staff,grid_worker,doctor,police,volunteer"
    ).split(",")
    if r.strip()
]
if (
    not CONTROL_CARE_TEAM
    or set(CONTROL_CARE_TEAM) - _CARE_TEAM_ROLES
    or len(set(CONTROL_CARE_TEAM)) != len(CONTROL_CARE_TEAM)
):
    raise ImproperlyConfigured(
        f"JIEDAO_CONTROL_CARE_TEAM must list distinct roles among {sorted(_CARE_TEAM_ROLES)}, "
        f"got {os.environ.get('JIEDAO_CONTROL_CARE_TEAM')!r}"
    )

# The prevention protocol in force by default (a file name under jiedao/protocols/data/ without .yaml),
# and extra folders of local variants, separated by ":".
JIEDAO_PROTOCOL = os.environ.get("JIEDAO_PROTOCOL", "national-9th-edition")
JIEDAO_PROTOCOL_DIRS = [d for d in os.environ.get("JIEDAO_PROTOCOL_DIRS", "").split(":") if d]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JIEDAO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
