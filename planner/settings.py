"""One frozen settings object, read from the environment once."""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse


class SettingsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_tls: str  # "none" | "starttls" | "tls"
    mail_from: str
    debug: bool
    login_attempts: int
    login_window_seconds: int
    login_client_attempts: int
    token_days: int
    trusted_proxies: tuple[str, ...]
    rsvp_client_limit: int
    sensitive_retention_days: int
    outbox_poll_seconds: float
    group_commit: bool = True  # writes arriving together share one commit (PostgreSQL); see groupcommit.py

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        # sqlite:///relative.db -> relative.db ; sqlite:////abs/path.db -> /abs/path.db
        return self.database_url.split("sqlite:///", 1)[1]


def _secret_key() -> str:
    key = os.environ.get("PLANNER_SECRET_KEY")
    if key:
        if len(key) < 16:
            raise SettingsError("PLANNER_SECRET_KEY must be at least 16 characters long.")
        return key
    # Development only: keep a generated key next to the working folder.
    path = Path(os.environ.get("PLANNER_SECRET_FILE", ".planner-secret"))
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return key


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}.") from exc


def _proxies(raw: str) -> tuple[str, ...]:
    """Addresses or networks of reverse proxies whose X-Forwarded-For is believed; none by default."""
    out = []
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError as exc:
            raise SettingsError(f"PLANNER_TRUSTED_PROXIES: {part!r} is not an IP address or network.") from exc
        out.append(part)
    return tuple(out)


def load_settings() -> Settings:
    url = os.environ.get("PLANNER_DATABASE_URL", "sqlite:///planner.db")
    scheme = urlparse(url).scheme
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise SettingsError(
            f"PLANNER_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}."
        )
    tls = os.environ.get("PLANNER_SMTP_TLS", "none").lower()
    if tls in ("1", "true", "yes"):
        tls = "starttls"
    if tls in ("0", "false", "no", ""):
        tls = "none"
    if tls not in ("none", "starttls", "tls"):
        raise SettingsError("PLANNER_SMTP_TLS must be none, starttls or tls.")
    return Settings(
        database_url=url,
        secret_key=_secret_key(),
        base_url=os.environ.get("PLANNER_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        smtp_host=os.environ.get("PLANNER_SMTP_HOST") or None,
        smtp_port=_int("PLANNER_SMTP_PORT", 25),
        smtp_user=os.environ.get("PLANNER_SMTP_USER") or None,
        smtp_password=os.environ.get("PLANNER_SMTP_PASSWORD") or None,
        smtp_tls=tls,
        mail_from=os.environ.get("PLANNER_MAIL_FROM", "care@planner.localhost"),
        debug=os.environ.get("PLANNER_DEBUG", "") in ("1", "true"),
        login_attempts=_int("PLANNER_LOGIN_ATTEMPTS", 5),
        login_window_seconds=_int("PLANNER_LOGIN_WINDOW", 900),
        login_client_attempts=_int("PLANNER_LOGIN_CLIENT_ATTEMPTS", 20),
        token_days=_int("PLANNER_TOKEN_DAYS", 90),
        rsvp_client_limit=_int("PLANNER_RSVP_LIMIT", 200),
        trusted_proxies=_proxies(os.environ.get("PLANNER_TRUSTED_PROXIES", "")),
        sensitive_retention_days=_int("PLANNER_SENSITIVE_RETENTION_DAYS", 30),
        outbox_poll_seconds=float(os.environ.get("PLANNER_OUTBOX_POLL", "2")),
        group_commit=os.environ.get("PLANNER_GROUP_COMMIT", "1") not in ("0", "false", "no", "off"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
