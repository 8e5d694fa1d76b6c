"""Settings from the environment and an optional `.env`, checked once at startup.

A bad setting stops startup with one line that names it (see `load_settings`), never a traceback,
so an operator can fix it without reading Python.
"""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.crypto import Keyring, dev_keys

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"
DEV_SECRET_FILE = VAR_DIR / "secret_key"
DEV_KEYS_FILE = VAR_DIR / "encryption_keys.json"
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and says what is expected."""


def _dev_secret_key() -> str:
    """Generate the development key once and keep it in a git-ignored file, so tokens survive
    restarts on a developer's machine without anyone committing a key."""
    if DEV_SECRET_FILE.exists():
        return DEV_SECRET_FILE.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    DEV_SECRET_FILE.write_text(key)
    DEV_SECRET_FILE.chmod(0o600)
    return key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    env: Literal["development", "test", "production"] = "development"
    _keyring: Keyring = PrivateAttr()
    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR / 'carecircle.db'}"
    redis_url: str | None = None
    secret_key: str = ""
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    invitation_days: int = Field(default=7, ge=1, le=30)
    break_glass_minutes: int = Field(default=60, ge=5, le=240)
    lockout_threshold: int = Field(default=5, ge=3, le=20)
    lockout_base_seconds: int = Field(default=60, ge=1, le=3600)
    lockout_max_seconds: int = Field(default=3600, ge=60, le=86400)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    apns_key_path: str | None = None
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str | None = None
    fcm_service_account_path: str | None = None
    apns_use_sandbox: bool = False
    apns_endpoint: str | None = Field(
        default=None,
        description="host:port to send APNs pushes to instead of Apple's (tests, a relay)",
    )
    apns_ca_file: Path | None = Field(
        default=None, description="Extra CA certificate to trust for APNS_ENDPOINT (tests)"
    )
    fcm_endpoint: str | None = Field(
        default=None,
        description="Base URL replacing https://fcm.googleapis.com/v1/projects (tests, a relay)",
    )
    push_dispatcher: Literal["inline", "off"] = "inline"
    push_batch_size: int = Field(default=50, ge=1, le=1000)
    push_concurrency: int = Field(default=20, ge=1, le=200)
    push_max_attempts: int = Field(default=8, ge=1, le=50)
    push_backoff_base_seconds: float = Field(default=2.0, gt=0, le=600)
    push_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    push_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    push_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    push_send_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    push_default_timezone: str = "America/New_York"
    reminder_scheduler: Literal["inline", "off"] = "inline"
    reminder_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    reminder_horizon_hours: int = Field(default=48, ge=1, le=336)
    reminder_batch_size: int = Field(default=100, ge=1, le=1000)
    encryption_keys: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object of key id to base64 AES-256 key, for message bodies and files",
    )
    encryption_active_key: str | None = None
    attachment_dir: Path = VAR_DIR / "attachments"
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    ws_auth_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    ws_send_rate: float = Field(default=10.0, gt=0, description="messages per second per user")
    ws_send_burst: int = Field(default=40, ge=1)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the URLs operators usually have and pick the async driver for them."""
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("use a postgresql:// or sqlite:/// URL")
        return value

    @field_validator("push_default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("use an IANA time zone name such as America/Chicago") from None
        return value

    @model_validator(mode="after")
    def _apns_complete(self) -> "Settings":
        apns = {
            "APNS_KEY_PATH": self.apns_key_path,
            "APNS_KEY_ID": self.apns_key_id,
            "APNS_TEAM_ID": self.apns_team_id,
            "APNS_TOPIC": self.apns_topic,
        }
        missing = [name for name, value in apns.items() if not value]
        if 0 < len(missing) < len(apns):
            raise ValueError(f"APNs needs all four settings; missing {', '.join(missing)}")
        return self

    @property
    def apns_configured(self) -> bool:
        return bool(self.apns_key_path)

    @property
    def fcm_configured(self) -> bool:
        return bool(self.fcm_service_account_path)

    @model_validator(mode="after")
    def _secret_key(self) -> "Settings":
        if self.env == "production":
            if len(self.secret_key) < MIN_SECRET_LENGTH or len(set(self.secret_key)) < 10:
                raise ValueError(
                    f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} random characters in "
                    "production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        elif not self.secret_key:
            self.secret_key = _dev_secret_key()
        return self

    @model_validator(mode="after")
    def _encryption_keys(self) -> "Settings":
        if not self.encryption_keys:
            if self.env == "production":
                raise ValueError(
                    "ENCRYPTION_KEYS must hold at least one key in production, e.g. "
                    '{"k1": "<32 random bytes, base64>"} (python -m backend keys new)'
                )
            self.encryption_keys, self.encryption_active_key = dev_keys(DEV_KEYS_FILE)
        if self.encryption_active_key is None:
            self.encryption_active_key = sorted(self.encryption_keys)[-1]
        try:
            self._keyring = Keyring.from_encoded(self.encryption_keys, self.encryption_active_key)
        except ValueError as exc:
            raise ValueError(f"ENCRYPTION_KEYS: {exc}") from None
        return self

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Build settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper() or "SECRET_KEY"
            problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("Invalid setting " + "; ".join(problems)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
