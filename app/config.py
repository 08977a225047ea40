"""Settings: the one place every environment variable of PageFree is read."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration read from the environment (and an optional `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Where the embedded PostgreSQL and Temporal dev server keep their files.
    data_dir: Path = Field(default=Path(".pagefree"), alias="PAGEFREE_DATA_DIR")
    environment: Literal["production", "development", "test"] = Field(
        default="development", alias="PAGEFREE_ENV"
    )
    log_format: Literal["console", "json"] = Field(default="console", alias="PAGEFREE_LOG_FORMAT")
    log_level: str = Field(default="INFO", alias="PAGEFREE_LOG_LEVEL")

    # Unset: the embedded PostgreSQL in data_dir.
    database_url: str | None = Field(default=None, alias="DATABASE_URL")

    # Unset: the Temporal dev server started by `pagefree dev` in data_dir.
    temporal_address: str | None = Field(default=None, alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="pagefree", alias="TEMPORAL_TASK_QUEUE")
    temporal_tls: bool = Field(default=False, alias="TEMPORAL_TLS")
    temporal_tls_cert: Path | None = Field(default=None, alias="TEMPORAL_TLS_CERT")
    temporal_tls_key: Path | None = Field(default=None, alias="TEMPORAL_TLS_KEY")
    temporal_api_key: SecretStr | None = Field(default=None, alias="TEMPORAL_API_KEY")
    temporal_ui_url: str = Field(default="http://localhost:8233", alias="TEMPORAL_UI_URL")
    temporal_port: int = Field(default=7233, alias="PAGEFREE_TEMPORAL_PORT")
    temporal_ui_port: int = Field(default=8233, alias="PAGEFREE_TEMPORAL_UI_PORT")

    api_host: str = Field(default="127.0.0.1", alias="PAGEFREE_API_HOST")
    api_port: int = Field(default=8000, alias="PAGEFREE_API_PORT")
    public_url: str | None = Field(default=None, alias="PAGEFREE_PUBLIC_URL")

    # Escalation delays below this are refused; tests lower it to seconds.
    min_escalation_delay: timedelta = Field(
        default=timedelta(minutes=1), alias="PAGEFREE_MIN_ESCALATION_DELAY"
    )

    redis_url: str | None = Field(default=None, alias="REDIS_URL")

    # Provider credentials, used by the notification and Slack issues.
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    twilio_account_sid: str | None = Field(default=None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(default=None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(default=None, alias="TWILIO_FROM_NUMBER")
    twilio_api_url: str | None = Field(default=None, alias="TWILIO_API_URL")
    ses_from_address: str | None = Field(default=None, alias="SES_FROM_ADDRESS")
    vapid_private_key: SecretStr | None = Field(default=None, alias="VAPID_PRIVATE_KEY")
    vapid_public_key: str | None = Field(default=None, alias="VAPID_PUBLIC_KEY")
    vapid_subject: str | None = Field(default=None, alias="VAPID_SUBJECT")
    sns_sms_enabled: bool = Field(default=False, alias="SNS_SMS_ENABLED")
    teams_webhook_url: SecretStr | None = Field(default=None, alias="TEAMS_WEBHOOK_URL")
    slack_page_channel: str | None = Field(default=None, alias="SLACK_PAGE_CHANNEL")

    # Signs the acknowledge/resolve links in e-mails; unset: e-mails carry no action links.
    link_secret: SecretStr | None = Field(default=None, alias="PAGEFREE_LINK_SECRET")
    link_ttl: timedelta = Field(default=timedelta(hours=24), alias="PAGEFREE_LINK_TTL")
    # SMS circuit breaker: after this many Twilio failures in a row, SNS for the cool-down.
    sms_breaker_failures: int = Field(default=3, alias="PAGEFREE_SMS_BREAKER_FAILURES")
    sms_breaker_cooldown: timedelta = Field(
        default=timedelta(minutes=2), alias="PAGEFREE_SMS_BREAKER_COOLDOWN"
    )

    # Web UI sessions: signed out after the TTL, or after the idle timeout without a request.
    web_session_ttl: timedelta = Field(default=timedelta(days=7), alias="PAGEFREE_WEB_SESSION_TTL")
    web_idle_timeout: timedelta = Field(
        default=timedelta(hours=12), alias="PAGEFREE_WEB_IDLE_TIMEOUT"
    )
    # Unset: Secure cookies exactly when PAGEFREE_PUBLIC_URL is https.
    cookie_secure: bool | None = Field(default=None, alias="PAGEFREE_COOKIE_SECURE")
    # OpenID Connect single sign-on; off unless the issuer and client id are set.
    oidc_issuer: str | None = Field(default=None, alias="OIDC_ISSUER")
    oidc_client_id: str | None = Field(default=None, alias="OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(default=None, alias="OIDC_CLIENT_SECRET")
    oidc_scopes: str = Field(default="openid email profile", alias="OIDC_SCOPES")
    oidc_provider_name: str = Field(default="single sign-on", alias="OIDC_PROVIDER_NAME")
    # Only for an issuer that never sends `email_verified` and only issues addresses it owns
    # (a company directory): accept its e-mail claim without `email_verified: true`.
    oidc_trust_email: bool = Field(default=False, alias="OIDC_TRUST_EMAIL")
    # Outbound URLs users configure (push endpoints, webhooks, connections) may point at
    # loopback/private addresses and use http: for closed networks and tests' local stand-ins
    # only (SSRF otherwise).
    allow_private_targets: bool = Field(default=False, alias="PAGEFREE_ALLOW_PRIVATE_TARGETS")
    # Live streams (SSE): at most this many per user; each re-checks its token/session this often.
    streams_per_user: int = Field(default=10, ge=1, alias="PAGEFREE_STREAMS_PER_USER")
    stream_recheck: timedelta = Field(
        default=timedelta(seconds=60), alias="PAGEFREE_STREAM_RECHECK"
    )

    # Encrypts connection secrets at rest (a Fernet key, or any long random string). Unset in
    # development and tests: a key is generated into the data dir; production refuses to start
    # connections without it.
    secret_key: SecretStr | None = Field(default=None, alias="PAGEFREE_SECRET_KEY")
    # Status pages: public reads per client (steady rate and burst), and the debounce of
    # component changes before subscribers hear of them.
    status_rate_per_second: float = Field(default=5.0, gt=0, alias="PAGEFREE_STATUS_RATE")
    status_rate_burst: int = Field(default=60, ge=1, alias="PAGEFREE_STATUS_RATE_BURST")
    status_debounce: timedelta = Field(
        default=timedelta(minutes=2), alias="PAGEFREE_STATUS_DEBOUNCE"
    )

    # Prometheus /metrics: a bearer token protects it when set; the worker serves its own on
    # this port (none when unset).
    metrics_token: SecretStr | None = Field(default=None, alias="PAGEFREE_METRICS_TOKEN")
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, alias="PAGEFREE_WORKER_METRICS_PORT"
    )
    worker_metrics_host: str = Field(default="127.0.0.1", alias="PAGEFREE_WORKER_METRICS_HOST")

    @property
    def base_url(self) -> str:
        """Return the public base URL of the API and web UI, without a trailing slash."""
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Return whether session cookies carry the Secure flag."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def oidc_enabled(self) -> bool:
        """Return whether OpenID Connect sign-in is configured."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def resolved_data_dir(self) -> Path:
        """Return the absolute data directory."""
        return self.data_dir.expanduser().resolve()


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
