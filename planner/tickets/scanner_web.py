"""The staff scanner: the /scan page, its service worker, and the JSON it reads (activities, counts, offline pack)."""
from __future__ import annotations

import gzip
import hashlib

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template

from planner.clock import utcnow
from planner.errors import PlannerError
from planner.paths import asset_dir
from planner.tickets import pack, search
from planner.tickets.shapes_web import GuestSearchOut, PackOut, ScannableOut, ScanStatusOut
from planner.web_common import NoCheck, User, typed

PRIVATE = {"cache-control": "private, no-cache", "referrer-policy": "no-referrer"}

# What the service worker keeps for offline use, besides the page itself: every module of the scanner
# (static/js/scanner/*.js, found on disk so that a new module is kept too).
SCANNER_FILES = (
    "css/planner.css",
    "css/scanner.css",
    "js/scanner-decoder.js",
    "vendor/jsqr/jsQR.js",
)


def scanner_assets() -> tuple[str, ...]:
    modules = sorted(p.relative_to(asset_dir("static")).as_posix() for p in (asset_dir("static") / "js" / "scanner").glob("*.js"))
    return (*SCANNER_FILES, *modules)


@get("/scan", include_in_schema=False)
async def scanner_page(request: Request, user: User = NoCheck, day: str | None = None) -> Template | Redirect:
    if user is None:
        return Redirect("/login?next=/scan")
    try:
        data = await pack.scannable(user, now=utcnow(), day=day)
    except PlannerError as exc:
        if exc.code != "invalid":
            raise
        data = await pack.scannable(user, now=utcnow())
    return Template("tickets/scanner.html", context={"user": user, "data": data, "day": day or ""},
                    headers={"cache-control": "private, no-cache"}, status_code=200 if data["programs"] else 403)


def _worker_source() -> bytes:
    """The service worker with a version made from the files it caches: a change to any of them installs afresh."""
    static = asset_dir("static")
    digest = hashlib.sha256()
    assets = scanner_assets()
    for name in ("js/scanner-sw.js", *assets):
        digest.update((static / name).read_bytes())
    source = (static / "js" / "scanner-sw.js").read_bytes()
    listed = msgspec.json.encode([f"/static/{name}" for name in assets])
    return source.replace(b"__VERSION__", digest.hexdigest()[:16].encode()).replace(b'["__ASSETS__"]', listed)


@get("/scan-sw.js", include_in_schema=False)
async def scanner_worker() -> Response[bytes]:
    # Served from the root so that its scope can cover /scan; no-cache so an update is seen at once.
    return Response(_worker_source(), media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "no-cache", "service-worker-allowed": "/"})


@get("/api/scanner/activities", tags=["check-in"], summary="Activities this user may scan, with slots and counts")
async def scanner_activities(user: User = NoCheck, program_id: int | None = None, day: str | None = None) -> ScannableOut:
    """Today's activities (in each programme's zone) unless `day` is given, in the programmes where the user is
    organizer or staff; each with its space, kit, slots, and people expected and checked in."""
    return typed(ScannableOut, await pack.scannable(user, now=utcnow(), program_id=program_id, day=day))


@get("/api/scanner/status", tags=["check-in"], summary="People checked in and expected for one activity")
async def scanner_status(user: User = NoCheck, activity_id: int | None = None) -> Response[ScanStatusOut]:
    if activity_id is None:
        raise PlannerError("Say which activity_id.", extra={"field": "activity_id"})
    return Response(typed(ScanStatusOut, await pack.scan_status(user, activity_id=activity_id, now=utcnow())), headers=PRIVATE)


@get("/api/scanner/pack", tags=["check-in"], summary="Offline pack: hashed tickets and check-ins of an activity or a day",
     responses={200: ResponseSpec(data_container=PackOut, description="The offline pack (gzipped when the client accepts it).")})
async def scanner_pack(request: Request, user: User = NoCheck, activity_id: int | None = None,
                       program_id: int | None = None, day: str | None = None) -> Response[bytes]:
    """What a scanner needs to judge scans with no network (see `planner.tickets.pack`): one activity with
    `activity_id`, or every activity of a programme on a day (today by default) with `program_id`.
    Answers 304 to a matching `If-None-Match`, and is gzipped when the client accepts it."""
    body = await pack.pack_for(user, now=utcnow(), activity_id=activity_id, program_id=program_id, day=day)
    generated_at = body.pop("generated_at")
    etag = '"' + hashlib.sha256(msgspec.json.encode(body)).hexdigest()[:32] + '"'
    headers = {**PRIVATE, "etag": etag, "vary": "accept-encoding"}
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(b"", status_code=304, headers=headers)
    # Encoded here (for the ETag and gzip), checked against the struct /schema documents.
    content = msgspec.json.encode(typed(PackOut, {"generated_at": generated_at, **body}))
    if "gzip" in (request.headers.get("accept-encoding") or ""):
        content = gzip.compress(content, compresslevel=6)
        headers["content-encoding"] = "gzip"
    return Response(content, media_type="application/json", headers=headers)


@get("/api/scanner/search", tags=["check-in"], summary="Find a confirmed guest of an activity by name (when a code will not read)")
async def scanner_search(user: User = NoCheck, activity_id: int | None = None, q: str | None = None) -> Response[GuestSearchOut]:
    """Up to 20 confirmed guests of the activity whose name contains `q` (at least 2 characters, any case), each with
    the ticket code printed under their QR: admit one with a normal scan of that code. Staff and organizers of the
    activity's programme only; every search is recorded in the programme's audit log."""
    return Response(typed(GuestSearchOut, await search.search_guests(user, activity_id=activity_id, q=q, now=utcnow())), headers=PRIVATE)


def routes() -> list:
    return [scanner_page, scanner_worker, scanner_activities, scanner_status, scanner_pack, scanner_search]
