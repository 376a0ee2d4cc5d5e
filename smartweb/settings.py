"""Settings, read once from the environment. Safe defaults are the production ones."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from smartweb import database_config
from smartweb.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("SMARTWEB_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-never-used-in-production-0123456789"  # noqa: S105
# Earlier SECRET_KEYs, newest first: sessions and signed values they made stay valid.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
# The keys of the secrets stored in the database, newest first (accounts.crypto); unset,
# a key derived from SECRET_KEY, which `check --deploy` warns about.
FIELD_ENCRYPTION_KEY = env_list("FIELD_ENCRYPTION_KEY", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "smartweb.admin_site.TenantAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "procrastinate.contrib.django",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "smartweb",
    "accounts",
    "leads",
    "crm",
    "compliance",
    "savedviews",
    "webhooks",
    "attachments",
    "sharing",
    "sso",
    "notifications",
    "mailing",
]

MIDDLEWARE = [
    # First: every response, redirects and refusals included, carries the request id.
    "smartweb.origin.RequestOriginMiddleware",
    # Then: a database outage answers 503 (a conflict 409) with DEBUG on too.
    "smartweb.error_views.DatabaseFailureMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smartweb.query_params.RefuseNulInQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.device_sessions.UserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends sessions that no longer satisfy an organization's required single sign-on.
    "sso.middleware.RequiredSignInMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Every request starts and ends in UTC; the admin site activates the organization's
    # time zone for its views and pages (smartweb.time_zones).
    "smartweb.time_zones.LocalTimeMiddleware",
    # Last: the request's transaction wraps the view and the rendering of its response.
    "smartweb.tenancy.middleware.RequestTransactionMiddleware",
]

ROOT_URLCONF = "smartweb.urls"
WSGI_APPLICATION = "smartweb.wsgi.application"
ASGI_APPLICATION = "smartweb.asgi.application"

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
            ],
        },
    },
]

# The runtime role: never a superuser, never BYPASSRLS, owns no table (see README).
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use `make run` / `make test` (they start the embedded "
        "PostgreSQL) or point DATABASE_URL at the runtime role."
    )
# Behind a transaction-mode pooler (PgBouncer), DATABASE_URL is the pooler's and
# DATABASE_DIRECT_URL the same role on the server: the job worker, migrate and the other
# management commands connect there (smartweb.database_config, docs/operations.md).
DATABASE_DIRECT_URL = env_str("DATABASE_DIRECT_URL") or None
DATABASE_POOLED = env_bool("DATABASE_POOLED", DATABASE_DIRECT_URL is not None)
# Every statement, lock wait and open transaction is bounded: a web request gets short
# bounds, jobs and management commands larger ones (database_config.DEFAULT_TIMEOUTS).
PROCESS_KIND = env_str("SMARTWEB_PROCESS", "command")  # smartweb.wsgi sets "web"
DATABASE_TIMEOUTS = database_config.timeouts(PROCESS_KIND)
_url, _pooled = database_config.chosen_url(
    process_kind=PROCESS_KIND,
    url=DATABASE_URL,
    direct_url=DATABASE_DIRECT_URL,
    pooled=DATABASE_POOLED,
)
DATABASES = {
    "default": database_config.database(
        _url, pooled=_pooled, bounds=DATABASE_TIMEOUTS, conn_max_age=env_int("CONN_MAX_AGE", 60)
    )
}
# Every request runs in one transaction, opened by RequestTransactionMiddleware around the
# view *and* its rendering (ATOMIC_REQUESTS would end it before a template is rendered).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_smartweb")}
# An optional streaming standby of the same cluster for reporting reads (smartweb.replica,
# docs/decisions/0024): the same runtime role under the same policies, the same bounds,
# and a short connect timeout, so that a replica which is gone costs a request little
# before it falls back to the primary. Without it every read goes to the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = database_config.database(
        DATABASE_REPLICA_URL,
        pooled=False,
        bounds=DATABASE_TIMEOUTS,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        setting="DATABASE_REPLICA_URL",
    )
    DATABASES["replica"]["OPTIONS"]["connect_timeout"] = env_int("REPLICA_CONNECT_TIMEOUT", 2)
    DATABASES["replica"]["ATOMIC_REQUESTS"] = False
    # Tests read the test database through this alias; it is never created or migrated.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["smartweb.replica.ReportingRouter"]
# Reporting reads fall back to the primary when the replica replays more than this far
# behind it, and skip a replica found down for REPLICA_RETRY_SECONDS. Seconds.
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 5)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 10)
# A process measures the replica's lag at most this often (0: on every reporting read).
REPLICA_LAG_CHECK_SECONDS = env_int("REPLICA_LAG_CHECK_SECONDS", 1)
# The owner role runs migrations (and creates the test database); optional at runtime.
DATABASE_OWNER_URL = env_str("DATABASE_OWNER_URL")
DATABASE_RUNTIME_ROLE = env_str("DATABASE_RUNTIME_ROLE", "smartweb_app")
# The read-only, BYPASSRLS role that dumps the database (`python -m smartweb.ops dump`).
DATABASE_BACKUP_ROLE = env_str("DATABASE_BACKUP_ROLE", "smartweb_backup")
# Base backups and the WAL archive (`python -m smartweb.ops backup`, docs/operations.md);
# /healthz?full=1 (staff, or `Authorization: Bearer HEALTH_TOKEN`) reports their age.
BACKUP_DIR = Path(env_str("BACKUP_DIR") or BASE_DIR / "var" / "backups")
BACKUP_MAX_AGE_HOURS = env_int("BACKUP_MAX_AGE_HOURS", 26)
HEALTH_TOKEN = env_str("HEALTH_TOKEN", "")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Two-factor authentication (accounts.two_factor): the name authenticator apps show.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "SmartWeb CRM")
# Wrong codes are counted by the login lockout, like wrong passwords (per address and
# account, with the same messages): no second, per-device delay of django-otp's.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
# Stored and served (the API) in UTC; the back office shows each organization's own zone
# (Organization.time_zone, smartweb.time_zones, docs/decisions/0050).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Uploaded files (attachments): the file system under var/media by default, never served
# at a URL of their own (downloads go through the API's checks). FILE_STORAGE_BACKEND names
# another Django storage, such as django-storages' S3 backend (`storages.backends.s3.
# S3Storage`, configured by its AWS_* settings, see docs/guide.md), installed apart.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "var" / "media")
FILE_STORAGE_BACKEND = env_str(
    "FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
_S3 = FILE_STORAGE_BACKEND == "storages.backends.s3.S3Storage"
# The largest attachment accepted, in bytes (10 MiB unless set).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# A request body up to this size is read (into a temporary file when over
# DATA_UPLOAD_MAX_MEMORY_SIZE) before the request's transaction opens: above the largest
# upload a view accepts (a CSV import, 50 MiB), with room for the multipart framing.
REQUEST_BODY_BUFFER_MAX_BYTES = env_int("REQUEST_BODY_BUFFER_MAX_BYTES", 64 * 1024 * 1024)
STORAGES = {
    "default": {
        "BACKEND": FILE_STORAGE_BACKEND,
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        }
        if _S3
        else {"location": MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Static files are found where the apps keep them (no collectstatic step before the first
# start); files collected into STATIC_ROOT are served from there, compressed.
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security: production defaults, relaxed only with DEBUG for local development.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
# A load balancer checks its machines over plain http (TLS ends at it): a redirect there
# would take every machine out of rotation.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = []

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smartweb.api.authentication.OrganizationTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API speaks JSON only, through one parser with depth and NUL checks.
    "DEFAULT_PARSER_CLASSES": ["smartweb.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "smartweb.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "smartweb.api.schema.AutoSchema",
    # A `?format=` no renderer has is a 400 at `format`, not a 404.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "smartweb.api.negotiation.ContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": [
        "smartweb.api.filters.FilterBackend",
        "smartweb.api.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "smartweb.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "smartweb.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_THROTTLE_RATE", "10/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SmartWeb CRM API",
    "DESCRIPTION": "Lead generation and CRM. Choose the organization with X-Organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the project's own static files: the docs work offline
    # and behind a strict firewall, and no third-party CDN sees who reads them.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The API speaks JSON; the form parsers serve the browsable API's HTML forms, where an
    # empty field means "not given", which no JSON schema can state.
    # Attachments are uploaded as multipart/form-data (that endpoint alone).
    "PARSER_WHITELIST": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Status, type and outcome fields of the CRM and of lead generation have different
    # choices under the same field names: each set gets its own component name.
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.choices.LeadStatus",
        "InteractionTypeEnum": "leads.choices.InteractionType",
        "InteractionOutcomeEnum": "leads.choices.Outcome",
        "LeadSourceEnum": "leads.choices.LeadSource",
        "ConsentSourceEnum": "compliance.choices.ConsentSource",
        "ConsentPurposeEnum": "compliance.choices.ConsentPurpose",
        "SubjectRequestStatusEnum": "compliance.choices.RequestStatus",
        "SavedViewResourceEnum": "savedviews.models.ViewResource",
        "InvitationStatusEnum": "accounts.models.InvitationStatus",
        # The names these had before email's own `direction` and `kind` came.
        "DirectionEnum": "leads.choices.Direction",
        "KindEnum": "compliance.choices.RequestKind",
        "EmailDirectionEnum": "mailing.choices.MessageDirection",
        "EmailKindEnum": "mailing.choices.MessageKind",
        "EmailStatusEnum": "mailing.choices.MessageStatus",
        **{
            f"{name}Enum": f"crm.choices.{name}"
            for name in (
                "OpportunityStatus",
                "ProposalStatus",
                "ContractStatus",
                "CampaignStatus",
                "AICallStatus",
                "TaskStatus",
                "TaskType",
                "CallOutcome",
            )
        },
    },
}

# The AI call provider (crm.providers): `AI_CALL_PROVIDER_URL` and `AI_CALL_PROVIDER_KEY`
# are read from the environment when a campaign places calls. For local demos only (read
# with DEBUG on): with AI_CALL_DEMO_WEBHOOK_URL set, calls go to a stand-in provider that
# posts each result, signed, to that URL after AI_CALL_DEMO_DELAY_SECONDS (crm.demo_provider).
AI_CALL_DEMO_WEBHOOK_URL = env_str("AI_CALL_DEMO_WEBHOOK_URL", "")
AI_CALL_DEMO_DELAY_SECONDS = env_int("AI_CALL_DEMO_DELAY_SECONDS", 5)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Object-level grants live in a tenant table of ours (it carries organization_id).
GUARDIAN_USER_OBJ_PERMS_MODEL = "accounts.UserObjectGrant"
GUARDIAN_GROUP_OBJ_PERMS_MODEL = "accounts.GroupObjectGrant"
ANONYMOUS_USER_NAME = None

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = True

# Optimistic concurrency (ADR 0012): with REQUIRE_IF_MATCH, an API change of a row (PUT,
# PATCH, DELETE, a workflow step's POST on it) without an If-Match header is refused with
# 428. A POST's Idempotency-Key is
# remembered this long.
REQUIRE_IF_MATCH = env_bool("REQUIRE_IF_MATCH", False)
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)

# Proxies in front of the app that append to X-Forwarded-For (0: the app is reached
# directly, and the header, which any client can write, is ignored).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Login protection (accounts.login_guard): failures within the window, per client address
# and account, per address across accounts, and per account from unusual addresses.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
# An address an account signed in from within this many days is one of its usual ones.
LOGIN_USUAL_ADDRESS_DAYS = env_int("LOGIN_USUAL_ADDRESS_DAYS", 90)

# Single sign-on (sso): the bound of each call to an identity provider (discovery, keys,
# token), and whether a provider may be reached over plain http (development and tests on
# this machine only: metadata and keys must come over TLS in production). A provider on a
# loopback, private or link-local address is refused (server-side request forgery: an
# organization's admin chooses the URL, and anyone can make the server call it) unless
# SSO_ALLOW_PRIVATE_ADDRESSES, for local development, tests, or a provider on the
# operator's own network.
SSO_HTTP_TIMEOUT_SECONDS = env_int("SSO_HTTP_TIMEOUT_SECONDS", 10)
SSO_ALLOW_HTTP = env_bool("SSO_ALLOW_HTTP", DEBUG or TESTING)
SSO_ALLOW_PRIVATE_ADDRESSES = env_bool("SSO_ALLOW_PRIVATE_ADDRESSES", False)

# Public lead-capture forms (leads.lead_forms): submissions per window from one client
# address (all forms) and to one form (all addresses), and the largest body accepted.
LEAD_FORM_RATE_WINDOW_SECONDS = env_int("LEAD_FORM_RATE_WINDOW_SECONDS", 60)
LEAD_FORM_ADDRESS_LIMIT = env_int("LEAD_FORM_ADDRESS_LIMIT", 10)
LEAD_FORM_KEY_LIMIT = env_int("LEAD_FORM_KEY_LIMIT", 120)
LEAD_FORM_MAX_BODY_BYTES = env_int("LEAD_FORM_MAX_BODY_BYTES", 16 * 1024)

# Invitation emails: printed on the console in development, SMTP (EMAIL_HOST…) otherwise.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A send waits at most this long for the SMTP server; the send job retries later.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SmartWeb CRM <no-reply@localhost>")
# Email to leads (mailing): where replies go (the email provider's inbound address, which
# posts them to /api/v1/webhooks/inbound-email/; empty: the sending user's own address),
# the domain of the Message-IDs that thread the replies, and the send job's attempts.
EMAIL_REPLY_TO = env_str("EMAIL_REPLY_TO", "")
EMAIL_MESSAGE_ID_DOMAIN = env_str("EMAIL_MESSAGE_ID_DOMAIN", "smartweb.invalid")
EMAIL_SEND_ATTEMPTS = env_int("EMAIL_SEND_ATTEMPTS", 6)
# The unsubscribe link of every email to a lead (mailing.unsubscribe, ADR 0042): how many
# days a link stays good (at least 30, as bulk-mail rules ask), and its page's limit of
# hits per client address and window. Generous: the one-click POSTs of a mailbox
# provider's users all come from its few servers.
UNSUBSCRIBE_LINK_DAYS = env_int("UNSUBSCRIBE_LINK_DAYS", 730)
if UNSUBSCRIBE_LINK_DAYS < 30:
    raise ImproperlyConfigured("UNSUBSCRIBE_LINK_DAYS must be at least 30.")
UNSUBSCRIBE_RATE_WINDOW_SECONDS = env_int("UNSUBSCRIBE_RATE_WINDOW_SECONDS", 60)
UNSUBSCRIBE_ADDRESS_LIMIT = env_int("UNSUBSCRIBE_ADDRESS_LIMIT", 120)
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "smartweb.origin.RequestIdLogFilter"},
        "outage": {"()": "smartweb.outage.OutageLogFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "outage"],
            "formatter": "line",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # procrastinate announces every task it registers at INFO, on every start-up.
    "loggers": {"procrastinate": {"level": "WARNING"}},
}

# Called with organization=… inside the new organization's context when it is created.
ORGANIZATION_SETUP_STEPS: list[str] = ["crm.services.pipeline_create_default"]

# Background jobs: procrastinate on this PostgreSQL database (`manage.py procrastinate worker`).
# Job modules are named jobs.py, so that they are not confused with the CRM's Task model.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "jobs"
# A worker writes a heartbeat every JOBS_HEARTBEAT_SECONDS; the jobs of a worker silent for
# JOBS_STALLED_AFTER_SECONDS (killed, out of memory, its machine gone) are retried by the
# periodic `smartweb.retry_stalled_jobs`, run every JOBS_STALLED_CHECK_SECONDS (1-59).
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 10)
JOBS_STALLED_AFTER_SECONDS = env_int("JOBS_STALLED_AFTER_SECONDS", 30)
JOBS_STALLED_CHECK_SECONDS = env_int("JOBS_STALLED_CHECK_SECONDS", 15)
if not 0 < JOBS_HEARTBEAT_SECONDS < JOBS_STALLED_AFTER_SECONDS:
    raise ImproperlyConfigured("JOBS_HEARTBEAT_SECONDS must be below JOBS_STALLED_AFTER_SECONDS.")
if not 0 < JOBS_STALLED_CHECK_SECONDS < 60:
    raise ImproperlyConfigured("JOBS_STALLED_CHECK_SECONDS must be between 1 and 59.")
# Jobs that ended are deleted with their events once they ended JOBS_FINISHED_DAYS ago
# (succeeded, cancelled, aborted), JOBS_FAILED_DAYS ago when they failed: operators read
# failures later than successes (smartweb.job_retention, daily). Waiting and running jobs
# are never deleted, nor each task's last finished one, which the health report reads.
JOBS_FINISHED_DAYS = env_int("JOBS_FINISHED_DAYS", 7)
JOBS_FAILED_DAYS = env_int("JOBS_FAILED_DAYS", 30)
if not 1 <= JOBS_FINISHED_DAYS <= JOBS_FAILED_DAYS:
    raise ImproperlyConfigured("JOBS_FINISHED_DAYS must be 1 or more, JOBS_FAILED_DAYS no less.")
# Jobs a worker runs at once, each on a thread and a database connection of its own: a job
# waiting on a slow outside party (a webhook receiver near its deadline) holds up one of
# them, not the others' work.
JOBS_CONCURRENCY = env_int("JOBS_CONCURRENCY", 4)
if JOBS_CONCURRENCY < 1:
    raise ImproperlyConfigured("JOBS_CONCURRENCY must be at least 1.")
# Outbound webhooks (webhooks/): each POST is bounded by WEBHOOK_TIMEOUT_SECONDS in total; a failed
# delivery is retried after 1 minute, doubling up to WEBHOOK_RETRY_MAX_SECONDS, for
# WEBHOOK_RETRY_HOURS; WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row, over at least
# WEBHOOK_DISABLE_AFTER_HOURS (by default the retry window), disable the endpoint.
# Endpoints on loopback, private or link-local addresses are refused (server-side request
# forgery) unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES, for local development and tests.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
WEBHOOK_RETRY_FIRST_SECONDS = env_int("WEBHOOK_RETRY_FIRST_SECONDS", 60)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600)
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 24)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", WEBHOOK_RETRY_HOURS)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# Finished events and their delivery log are kept this many days (webhooks/log_retention.py).
WEBHOOK_LOG_DAYS = env_int("WEBHOOK_LOG_DAYS", 30)
# The daily digest of unread notifications goes out from this hour on, in each
# organization's time zone.
NOTIFICATION_DIGEST_HOUR = env_int("NOTIFICATION_DIGEST_HOUR", 7)
if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR must be between 0 and 23.")
# Read notifications are deleted this many days after they were made
# (notifications/retention.py); at least a week, beyond the reminders' horizons.
NOTIFICATION_READ_DAYS = env_int("NOTIFICATION_READ_DAYS", 90)
if NOTIFICATION_READ_DAYS < 7:
    raise ImproperlyConfigured("NOTIFICATION_READ_DAYS must be at least 7.")
# The address people reach the site at ("https://crm.example.com"), for links in emails
# that jobs send with no request to read it from (the daily digest, the unsubscribe link
# of email to leads). Unset: the digest names the page instead of linking it, and email
# to leads is refused (it cannot carry its unsubscribe link). `make run` and the tests
# have their own.
SITE_URL = (
    env_str("SITE_URL", "")
    or ("http://testserver" if TESTING else "http://127.0.0.1:8000" if DEBUG else "")
).rstrip("/")
if SITE_URL and not SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("SITE_URL is the site's address: https://… (or http://…).")
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": JOBS_CONCURRENCY,
    "update_heartbeat_interval": JOBS_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": JOBS_STALLED_AFTER_SECONDS,
}
