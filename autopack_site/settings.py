"""The one settings module. Everything that differs between machines comes from the environment.

AUTOPACK_ENV=development (default) runs on an SQLite file under var/ with DEBUG on.
AUTOPACK_ENV=production refuses to start without SECRET_KEY and ALLOWED_HOSTS, or with DEBUG on.
"""

import contextlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from autopack_site.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AUTOPACK_VAR_DIR", str(BASE_DIR / "var")))

AUTOPACK_ENV = env_str("AUTOPACK_ENV", "development")
if AUTOPACK_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"AUTOPACK_ENV must be development or production, got {AUTOPACK_ENV!r}"
    )
PRODUCTION = AUTOPACK_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
# Staff need a confirmed TOTP device to reach the admin (autopack_site/security/two_factor.py).
AUTOPACK_REQUIRE_2FA = env_bool("AUTOPACK_REQUIRE_2FA", default=PRODUCTION)

if PRODUCTION:
    problems = []
    if not SECRET_KEY:
        problems.append("SECRET_KEY is not set")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is not set (comma-separated host names)")
    if DEBUG:
        problems.append("DEBUG is on")
    if not AUTOPACK_REQUIRE_2FA:
        problems.append("AUTOPACK_REQUIRE_2FA is off (staff need a second factor in production)")
    if problems:
        raise ImproperlyConfigured(
            "AUTOPACK_ENV=production refuses to start: " + "; ".join(problems) + "."
        )
elif not SECRET_KEY:
    # development only; production refuses to start without SECRET_KEY:
    SECRET_KEY = "dev-only-insecure-key-autopack-never-use-in-production-0123456789"  # nosec B105

INSTALLED_APPS = [
    # Django's admin with Autopack's site: the second factor gates every admin view
    "autopack_site.security.apps.AutopackAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "autopack_site",
    "runs",
    "policies",
    "approvals",
    "ledger",
    "trading",
]

MIDDLEWARE = [
    "autopack_site.middleware.RequestIDMiddleware",
    "autopack_site.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # serves the admin's and Swagger UI's static files from gunicorn (no CDN, no extra server)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks: it turns a locked-out login into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "autopack_site.urls"
WSGI_APPLICATION = "autopack_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'autopack.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: one writer at a time, so wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # A fresh clone has no var/ (it is git-ignored); SQLite needs the folder to exist.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # first: refuses every password for a locked-out account before the real check runs
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
WHITENOISE_USE_FINDERS = not PRODUCTION  # development serves app static files without collectstatic
with contextlib.suppress(OSError):  # WhiteNoise warns about a missing root; read-only is fine
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Operator login (docs/security.md) ----------------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)

# django-axes locks an account on the failure that reaches AXES_FAILURE_LIMIT, so the allowed
# count is one less: with 5 allowed, the 6th bad password in the window locks.
AUTOPACK_LOGIN_FAILURES_ALLOWED = env_int("AUTOPACK_LOGIN_FAILURES_ALLOWED", 5)
AXES_FAILURE_LIMIT = AUTOPACK_LOGIN_FAILURES_ALLOWED + 1
# the window in which failures count and the lock's length; 0: until an operator unlocks
AUTOPACK_LOGIN_LOCKOUT_MINUTES = env_int("AUTOPACK_LOGIN_LOCKOUT_MINUTES", 60)
if AUTOPACK_LOGIN_FAILURES_ALLOWED < 1 or AUTOPACK_LOGIN_LOCKOUT_MINUTES < 0:
    raise ImproperlyConfigured(
        "AUTOPACK_LOGIN_FAILURES_ALLOWED must be 1 or more and AUTOPACK_LOGIN_LOCKOUT_MINUTES"
        " 0 or more"
    )
AXES_COOLOFF_TIME = timedelta(minutes=AUTOPACK_LOGIN_LOCKOUT_MINUTES) or None
_LOCKOUT_BY = {
    # the account after N failures from anywhere, and an address after N failures on any accounts
    "username_or_ip": ["username", "ip_address"],
    # only this account from this address
    "username_and_ip": [["username", "ip_address"]],
}
_lockout_by = env_str("AUTOPACK_LOGIN_LOCKOUT_BY", "username_or_ip")
if _lockout_by not in _LOCKOUT_BY:
    raise ImproperlyConfigured(
        f"AUTOPACK_LOGIN_LOCKOUT_BY must be one of {', '.join(_LOCKOUT_BY)}, got {_lockout_by!r}"
    )
AXES_LOCKOUT_PARAMETERS = _LOCKOUT_BY[_lockout_by]
if env_bool("TRUST_X_FORWARDED_FOR", False):
    # the address our one proxy appended; anything left of it is the client's own claim
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_ORDER = "right-most"
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_RESET_ON_SUCCESS = True  # a typo followed by the right password starts the count afresh
AXES_LOCKOUT_CALLABLE = "autopack_site.security.lockout.lockout_response"

OTP_TOTP_ISSUER = env_str("AUTOPACK_TOTP_ISSUER", "Autopack")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the device admin never shows a TOTP secret again

# No inline script anywhere; inline <style> elements only with the request's nonce. Style
# *attributes* (status colours in admin columns) are allowed: they cannot run script, and with
# img-src/font-src 'self' they cannot load anything from elsewhere either (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- API --------------------------------------------------------------------------------------
AUTOPACK_MAX_BODY_BYTES = env_int("AUTOPACK_MAX_BODY_BYTES", 1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = AUTOPACK_MAX_BODY_BYTES
AUTOPACK_MAX_QUERY_BYTES = env_int("AUTOPACK_MAX_QUERY_BYTES", 2048)
# Agent keys are stored as HMAC-SHA256(key_pepper, key); rotate the pepper and every key dies.
AUTOPACK_KEY_PEPPER = env_str("AUTOPACK_KEY_PEPPER", SECRET_KEY)

# --- Secrets and outbound calls ---------------------------------------------------------------
# Fernet keys for what is stored encrypted (projects' signing secrets); the first encrypts, all
# decrypt. Empty: derived from SECRET_KEY and SECRET_KEY_FALLBACKS (autopack_site/encryption.py).
AUTOPACK_ENCRYPTION_KEYS = env_list("AUTOPACK_ENCRYPTION_KEYS")
# Provider secrets: the file <dir>/<project slug>/<NAME> when set, else the environment
# variable AUTOPACK_SECRET_<PROJECT>__<NAME> (autopack_site/project_secrets.py).
AUTOPACK_SECRETS_DIR = env_str("AUTOPACK_SECRETS_DIR", "")
# After a rotation the previous signing secret keeps signing this long, so agents can install
# the new one first (`manage.py signingsecret rotate --now` skips it for a leaked secret).
AUTOPACK_SIGNING_SECRET_GRACE_SECONDS = env_int("AUTOPACK_SIGNING_SECRET_GRACE_SECONDS", 86400)
# host:port origins outbound calls may reach although they are not globally routable (the local
# fake provider in `make run` and the tests); nothing else private is ever called.
AUTOPACK_OUTBOUND_ALLOW = env_list("AUTOPACK_OUTBOUND_ALLOW")

# Fair use (autopack_site/fair_use.py): requests per minute per agent key (0: no limit), and
# long-polls one key may have waiting at once.
AUTOPACK_KEY_REQUESTS_PER_MINUTE = env_int("AUTOPACK_KEY_REQUESTS_PER_MINUTE", 6000)
AUTOPACK_LONG_POLLS_PER_KEY = env_int("AUTOPACK_LONG_POLLS_PER_KEY", 10)
# The long-poll wake-up listener's own connection (LISTEN needs a session): empty means the
# default database; set it to PostgreSQL itself when DATABASE_URL goes through PgBouncer in
# transaction mode.
AUTOPACK_LISTEN_DATABASE_URL = env_str("AUTOPACK_LISTEN_DATABASE_URL", "")
# A waiting long-poll re-reads at least this often, should a wake-up be lost.
AUTOPACK_LONG_POLL_RECHECK_SECONDS = env_int("AUTOPACK_LONG_POLL_RECHECK_SECONDS", 2)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["autopack_site.auth.AgentKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["autopack_site.api.permissions.HasAgentScope"],
    "DEFAULT_THROTTLE_CLASSES": ["autopack_site.fair_use.AgentKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "autopack_site.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Autopack Agent API",
    "DESCRIPTION": "Governed side effects for autonomous agents. Errors always have the shape "
    '{"error": {"code", "message", "details"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1, because pydantic writes optional fields as anyOf [..., {"type": "null"}].
    "OAS_VERSION": "3.1.0",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Choice sets shared by several fields named alike get one explicit component name each.
    "ENUM_NAME_OVERRIDES": {
        "EffectEnum": ["allow", "require_approval", "deny"],
        "AttemptOutcomeEnum": ["succeeded", "failed"],
        "ActionOutcomeEnum": ["succeeded", "failed", "unknown"],
    },
    # Ids in paths are 64-bit (autopack_site/api/converters.py); larger ones are a 404.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    },
    # no badge fetched from the public validator: the CSP allows images from this site only
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Runs -------------------------------------------------------------------------------------
AUTOPACK_DEFAULT_LEASE_SECONDS = env_int("AUTOPACK_DEFAULT_LEASE_SECONDS", 300)
AUTOPACK_MAX_LEASE_SECONDS = env_int("AUTOPACK_MAX_LEASE_SECONDS", 3600)
AUTOPACK_WORKER_STALE_SECONDS = env_int("AUTOPACK_WORKER_STALE_SECONDS", 180)

# --- Ledger (ledger/conf.py gives services a typed view of these) -----------------------------
AUTOPACK_PROVIDERS = ("alpaca", "etsy", "shopify", "webhook", "youtube")
AUTOPACK_ACTION_LEASE_SECONDS = env_int("AUTOPACK_ACTION_LEASE_SECONDS", 120)
AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS = env_int("AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS", 20)
AUTOPACK_ACTION_MAX_ATTEMPTS = env_int("AUTOPACK_ACTION_MAX_ATTEMPTS", 5)
AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS = env_int("AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS", 30)
AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS = env_int("AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS", 10)
AUTOPACK_PROVIDER_ENVIRONMENT = env_str("AUTOPACK_PROVIDER_ENVIRONMENT", "sandbox")
# How long a request waits for another holding the same Idempotency-Key before 409.
AUTOPACK_IDEMPOTENCY_WAIT_MS = env_int("AUTOPACK_IDEMPOTENCY_WAIT_MS", 2000)
# Base URL per provider (empty: the provider's real API); the tests and `make run` point them
# at the loopback fake provider.
AUTOPACK_PROVIDER_URLS = {
    provider: env_str(f"AUTOPACK_PROVIDER_URL_{provider.upper()}", "")
    for provider in AUTOPACK_PROVIDERS
}
# Calls per minute per project and provider, shared by every worker.
AUTOPACK_PROVIDER_RATE_LIMITS = {
    provider: env_int(f"AUTOPACK_RATE_LIMIT_{provider.upper()}", default)
    for provider, default in {
        "alpaca": 180,
        "etsy": 300,
        "shopify": 120,
        "webhook": 600,
        "youtube": 60,
    }.items()
}

# --- The outbox relay (autopack_site/outbox.py) ------------------------------------------------
AUTOPACK_OUTBOX_POLL_SECONDS = float(env_str("AUTOPACK_OUTBOX_POLL_SECONDS", "0.2"))
# Sent but not run after this long: the broker lost it (a Redis worker died); send it again.
AUTOPACK_OUTBOX_REDELIVER_SECONDS = env_int("AUTOPACK_OUTBOX_REDELIVER_SECONDS", 300)

# --- django-q2 --------------------------------------------------------------------------------
Q_CLUSTER = {
    "name": "autopack",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 60,
    "retry": 90,  # must exceed timeout, or a slow task runs twice
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Tasks",
    # django-q logs every enqueue at INFO; one line per proposed action is noise, not news
    "log_level": env_str("Q_LOG_LEVEL", "WARNING"),
}
Q_REDIS_URL = env_str("Q_REDIS_URL")
if Q_REDIS_URL:
    try:
        import redis  # noqa: F401 - only to fail here, at start, with the fix in the message
    except ImportError:
        raise ImproperlyConfigured(
            "Q_REDIS_URL is set but the redis package is not installed: "
            "pip install 'autopack[redis]' (or unset Q_REDIS_URL to use the ORM broker)."
        ) from None
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = Q_REDIS_URL

# --- Logging: one JSON object per line, each with the request id -------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "autopack_site.logging.RequestIDFilter"}},
    "formatters": {"json": {"()": "autopack_site.logging.JSONFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # httpx logs full request URLs at INFO, and some providers put tokens in URLs
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.server": {"level": "INFO"},
        # axes announces itself at every start; lockouts are still logged at WARNING
        "axes": {"level": "WARNING"},
    },
}

# --- Production hardening (check --deploy clean) ----------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # SILENCED_SYSTEM_CHECKS stays empty: every deploy warning is fixed, not hidden.

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "autopack@localhost")
AUTOPACK_BASE_URL = env_str("AUTOPACK_BASE_URL", "http://127.0.0.1:8000")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Notifications (approvals/notifications.py): sent after commit, retried by the worker ------
AUTOPACK_NOTIFY_EMAILS = env_list("AUTOPACK_NOTIFY_EMAILS")  # empty: the project's operators
AUTOPACK_NOTIFY_MAX_ATTEMPTS = env_int("AUTOPACK_NOTIFY_MAX_ATTEMPTS", 6)
AUTOPACK_TELEGRAM_BOT_TOKEN = env_str("AUTOPACK_TELEGRAM_BOT_TOKEN", "")
AUTOPACK_TELEGRAM_CHAT_ID = env_str("AUTOPACK_TELEGRAM_CHAT_ID", "")
AUTOPACK_TELEGRAM_API_BASE = env_str("AUTOPACK_TELEGRAM_API_BASE", "https://api.telegram.org")
