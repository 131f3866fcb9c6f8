"""The `planner` command: serve, migrate, purge, backup, demo, user add."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sqlite3
import sys
from datetime import datetime, timezone

import uvicorn

from planner import db
from planner.accounts.rules import create_user
from planner.care.rules import purge as purge_care_messages
from planner.clock import utcnow
from planner.demo import load_demo
from planner.errors import PlannerError
from planner.privacy import purge_sensitive_answers
from planner.settings import get_settings


def _run(work) -> object:
    """Run one coroutine function with the database open, and close every connection before the
    event loop ends: a kept SQLite connection lives on a thread of its own, and one left open
    keeps the process from exiting."""
    async def main():
        await db.start()
        try:
            return await work()
        finally:
            await db.stop()

    return asyncio.run(main())


async def _migrate() -> None:
    await db.migrate()


def cmd_migrate(args: argparse.Namespace) -> int:
    _run(_migrate)
    print("Migrations applied.")
    return 0


MAX_HEADER_BYTES = 32 * 1024  # a request line and headers larger than this are refused


def cmd_serve(args: argparse.Namespace) -> int:
    _run(_migrate)
    uvicorn.run(
        "planner.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_level=args.log_level, proxy_headers=False, access_log=args.access_log, timeout_graceful_shutdown=5,
        # Bounds against slow or greedy clients that the server itself can enforce; header and body
        # read timeouts belong to the reverse proxy (see README, "In production").
        timeout_keep_alive=args.timeout_keep_alive, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        limit_concurrency=args.limit_concurrency,
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Drop sensitive answers of programmes that ended more than PLANNER_SENSITIVE_RETENTION_DAYS ago.
    `planner serve` runs the same every day; this is for cron, or to run it now."""
    now = utcnow()
    if args.today:
        try:
            now = datetime.fromisoformat(args.today).replace(tzinfo=timezone.utc)
        except ValueError:
            print(f"error: --today must be a date like 2027-09-01, not {args.today!r}", file=sys.stderr)
            return 2
    days = get_settings().sensitive_retention_days

    async def work() -> tuple[int, int]:
        await _migrate()
        # Care messages first, to count them: purge_sensitive_answers deletes them too (the worker's one call).
        messages = await purge_care_messages(now=now, retention_days=days)
        return await purge_sensitive_answers(now=now, retention_days=days), messages

    changed, messages = _run(work)
    print(f"Sensitive answers purged from {changed} RSVP(s), and {messages} care message(s) deleted, "
          f"of programmes that ended more than {days} days before {now:%Y-%m-%d}.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the SQLite database while the app runs (SQLite's online backup API)."""
    s = get_settings()
    if not s.is_sqlite:
        print("error: `planner backup` copies SQLite databases. For PostgreSQL use pg_dump, for example:\n"
              "  pg_dump --format=custom --file planner.dump \"$PLANNER_DATABASE_URL\"", file=sys.stderr)
        return 2
    if os.path.exists(args.path) and not args.force:
        print(f"error: {args.path} exists; choose a new file or pass --force.", file=sys.stderr)
        return 1
    source = sqlite3.connect(s.sqlite_path, timeout=30)
    target = sqlite3.connect(args.path)
    try:
        with target:
            source.backup(target, pages=256)
    finally:
        target.close()
        source.close()
    print(f"Backed up {s.sqlite_path} to {args.path}.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    async def work() -> str:
        await _migrate()
        return await load_demo()

    print(_run(work))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")

    async def work() -> dict:
        await _migrate()
        return await create_user(args.email, password, admin=args.admin)

    try:
        user = _run(work)
    except PlannerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"Created {user['email']}{' (admin)' if user['is_admin'] else ''}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="planner", description="Wellness activations planner for festivals and music.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="apply pending migrations, then serve the app")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--log-level", default="info")
    s.add_argument("--access-log", action="store_true", help="log each request (personal-link tokens are redacted)")
    s.add_argument("--timeout-keep-alive", type=int, default=5, help="seconds an idle connection is kept open")
    s.add_argument("--limit-concurrency", type=int, default=None,
                   help="connections per worker before new ones get 503 (default: no limit)")
    s.set_defaults(func=cmd_serve)
    m = sub.add_parser("migrate", help="apply pending migrations and exit")
    m.set_defaults(func=cmd_migrate)
    pu = sub.add_parser("purge", help="drop sensitive answers past their retention (serve does this daily)")
    pu.add_argument("--today", help="purge as if it were this date (YYYY-MM-DD); for checking the policy")
    pu.set_defaults(func=cmd_purge)
    b = sub.add_parser("backup", help="copy the SQLite database to PATH while the app runs (online backup)")
    b.add_argument("path")
    b.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    b.set_defaults(func=cmd_backup)
    d = sub.add_parser("demo", help="load a realistic demo programme (safe to run twice)")
    d.set_defaults(func=cmd_demo)
    u = sub.add_parser("user", help="manage accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser("add", help="create an account")
    ua.add_argument("email")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.add_argument("--admin", action="store_true", help="may create programmes")
    ua.set_defaults(func=cmd_user_add)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except PlannerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
