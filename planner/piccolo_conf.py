"""The Piccolo engine, built from the settings (SQLite by default, PostgreSQL from the URL)."""
from __future__ import annotations

from urllib.parse import unquote, urlparse

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from planner.settings import get_settings
from planner.sqlite_engine import PlannerSQLiteEngine


def make_engine(url: str):
    if url.startswith("sqlite"):
        # A generous busy timeout: IMMEDIATE writers queue instead of failing.
        return PlannerSQLiteEngine(path=url.split("sqlite:///", 1)[1], timeout=30)
    u = urlparse(url)
    config = {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or 5432,
        "database": (u.path or "/").lstrip("/") or "postgres",
        "user": unquote(u.username) if u.username else "postgres",
    }
    if u.password:
        config["password"] = unquote(u.password)
    return PostgresEngine(config=config)


DB = make_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["planner.piccolo_app"])
