"""The authorization matrix, built from the app's own route table (`app.routes`).

Every route x {anonymous, guest with another's token, staff and organizer of another programme,
staff, organizer, admin}. Each route declares its expected access in ONE place, `ACCESS` below,
keyed by (method, path as Litestar spells it). A route without an entry fails the test, and so does
an entry for a route that no longer exists. A denial answers 401/403/404 (or, for a page, the login
redirect) and tells an outsider no name: not the programme's, the activity's, a guest's or a space's;
an API denial is an error body alone, with no details and no number in its sentence (no count leaks).

To add a route: one line in ACCESS with its level and, for writes, a body that would succeed for an
allowed caller (so that a denial is not hidden behind a 400).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from planner.accounts.tables import User
from planner.calendar.feeds import guest_feed_url, user_feed_url
from planner.resources.tables import SupportResource
from planner.throttle.tables import ThrottleHit
from tests.conftest import make_user
from tests.trust.helpers import login_session

ROLES = ("anonymous", "guest_other", "staff_other", "organizer_other", "staff", "organizer", "admin")
OUTSIDERS = {"anonymous", "guest_other", "staff_other", "organizer_other", "admin"}

# Levels: who may call a route.
PUBLIC = "public"        # anyone
USER = "user"            # any logged-in account
ADMIN = "admin"          # accounts with the admin flag (they may create programmes)
MEMBER = "member"        # staff or organizer of the programme
ORGANIZER = "organizer"  # organizer of the programme
GUEST = "guest"          # only with the RSVP's own token (checked separately with it)
OWNER = "owner"          # only with the account's own feed token

ALLOWED = {
    PUBLIC: set(ROLES),
    USER: {"staff_other", "organizer_other", "staff", "organizer", "admin"},
    ADMIN: {"admin"},
    MEMBER: {"staff", "organizer"},
    ORGANIZER: {"organizer"},
    GUEST: set(),
    OWNER: set(),
}


@dataclass
class Access:
    level: str
    body: Any = None          # JSON for /api, form fields for pages
    query: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # values for non-id path parameters
    ok: frozenset = frozenset()  # extra statuses an allowed caller may get (e.g. 404 for "nothing today")
    denied_ok: frozenset = frozenset()  # extra statuses a denied caller may get (e.g. a scan's 200 "invalid")
    stream: bool = False      # server-sent events: read the head only
    isolated: bool = False    # changes the caller's session (login/logout): each role on a fresh client
    fresh_bearer: bool = False  # revokes the caller's token: each role with a token of its own


SPACE = {"name": "Quiet corner", "capacity": 4}
ACTIVITY = {"kind": "activation", "title": "Extra stretch", "space_id": "{space_id}", "starts_at": "2027-07-03T09:00",
            "ends_at": "2027-07-03T09:30", "capacity": 5}
PROGRAM = {"name": "Another festival", "timezone": "Europe/London", "country": "GB", "starts_on": "2027-08-01", "ends_on": "2027-08-02"}
GUEST_FORM = {"name": "Walk Up", "email": "walkup@example.org"}

ACCESS: dict[tuple[str, str], Access] = {
    # system
    ("GET", "/health"): Access(PUBLIC),
    ("GET", "/schema"): Access(PUBLIC),
    ("GET", "/schema/elements"): Access(PUBLIC),
    ("GET", "/schema/oauth2-redirect.html"): Access(PUBLIC),
    ("GET", "/schema/openapi.json"): Access(PUBLIC),
    ("GET", "/schema/openapi.yaml"): Access(PUBLIC),
    ("GET", "/schema/openapi.yml"): Access(PUBLIC),
    ("GET", "/schema/rapidoc"): Access(PUBLIC),
    ("GET", "/schema/redoc"): Access(PUBLIC),
    ("GET", "/schema/swagger"): Access(PUBLIC),
    ("GET", "/schema/{path:str}"): Access(PUBLIC, params={"path": "openapi.json"}),
    ("GET", "/static/{file_path:path}"): Access(PUBLIC, params={"file_path": "/css/planner.css"}),
    ("HEAD", "/static/{file_path:path}"): Access(PUBLIC, params={"file_path": "/css/planner.css"}),
    # accounts
    ("POST", "/api/auth/token"): Access(PUBLIC, body={"email": "organizer@example.org", "password": "correct horse battery"}),
    ("GET", "/login"): Access(PUBLIC),
    ("POST", "/login"): Access(PUBLIC, body={"email": "organizer@example.org", "password": "correct horse battery"}, isolated=True),
    ("POST", "/logout"): Access(PUBLIC, isolated=True, ok=frozenset({303})),
    ("DELETE", "/api/auth/token"): Access(USER, fresh_bearer=True),
    ("GET", "/account"): Access(USER),
    ("POST", "/account/{action:str}"): Access(USER, params={"action": "end-other-sessions"}),
    ("GET", "/account/reset"): Access(PUBLIC),
    ("POST", "/account/reset"): Access(PUBLIC, body={"email": "nobody@example.org"}),
    ("GET", "/account/set-password"): Access(PUBLIC, ok=frozenset({404})),  # no link, nothing to set
    ("POST", "/account/set-password"): Access(PUBLIC, body={"token": "", "password": "long enough pw", "password2": "long enough pw"},
                                              ok=frozenset({404})),  # the link is the key: without one, not found
    ("GET", "/admin"): Access(ADMIN),
    ("POST", "/admin/restore"): Access(ADMIN, body={"program_id": "{program_id}", "email": "organizer@example.org"}),
    # the team
    ("POST", "/api/programs/{program_id:int}/members/invite"): Access(ORGANIZER, body={"email": "newbie{n}@example.org", "role": "staff"}),
    ("PATCH", "/api/programs/{program_id:int}/members/{user_id:int}"): Access(ORGANIZER, params={"user_id": "{leaver_id}"}, body={"role": "staff"}),
    ("DELETE", "/api/programs/{program_id:int}/members/{user_id:int}"): Access(ORGANIZER, params={"user_id": "{leaver_id}"}),
    ("DELETE", "/api/programs/{program_id:int}"): Access(ORGANIZER, query={"confirm": "not its name"}, ok=frozenset({400})),
    ("POST", "/api/programs/{program_id:int}/organizers"): Access(ADMIN, body={"email": "organizer@example.org"}),
    ("GET", "/api/programs/{program_id:int}/audit"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/audit"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/team"): Access(ORGANIZER),
    # staff may leave through this form; asking more answers the team page with the reason (303)
    ("POST", "/programs/{program_id:int}/team/{action:str}"): Access(ORGANIZER, params={"action": "invite"},
                                                                      body={"email": "newbie{n}@example.org", "role": "staff"},
                                                                      denied_ok=frozenset({303})),
    # programmes
    ("GET", "/api/programs"): Access(USER),
    ("POST", "/api/programs"): Access(ADMIN, body=PROGRAM),
    ("GET", "/api/programs/{program_id:int}"): Access(MEMBER),
    ("GET", "/api/programs/{program_id:int}/spaces"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/spaces"): Access(ORGANIZER, body=SPACE),
    ("PATCH", "/api/spaces/{space_id:int}"): Access(ORGANIZER, body={"capacity": 41}),
    ("GET", "/api/programs/{program_id:int}/hosts"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/hosts"): Access(ORGANIZER, body={"name": "Dr. Second"}),
    ("POST", "/api/hosts/{host_id:int}/unavailability"): Access(ORGANIZER, body={"starts_at": "2027-07-05T08:00", "ends_at": "2027-07-05T09:00"}),
    ("GET", "/api/programs/{program_id:int}/members"): Access(ORGANIZER),
    ("POST", "/api/programs/{program_id:int}/members"): Access(ORGANIZER, body={"email": "joiner@example.org", "role": "staff"}),
    ("GET", "/api/programs/{program_id:int}/activities"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/activities"): Access(ORGANIZER, body=ACTIVITY),
    ("GET", "/api/programs/{program_id:int}/resources"): Access(PUBLIC),
    ("POST", "/api/programs/{program_id:int}/resources"): Access(ORGANIZER, body={"name": "Welfare tent", "kind": "other"}),
    ("PATCH", "/api/resources/{resource_id:int}"): Access(ORGANIZER, body={"enabled": True}),
    # activities
    ("GET", "/api/activities/{activity_id:int}"): Access(MEMBER),
    ("PATCH", "/api/activities/{activity_id:int}"): Access(ORGANIZER, body={"capacity": 11}),
    ("DELETE", "/api/activities/{activity_id:int}"): Access(ORGANIZER, ok=frozenset({409})),
    ("POST", "/api/activities/{activity_id:int}/cancel"): Access(ORGANIZER, body={"reason": "rain"}),
    ("GET", "/api/activities/{activity_id:int}/invitations"): Access(ORGANIZER),
    ("POST", "/api/activities/{activity_id:int}/invitations"): Access(ORGANIZER, body={"name": "Invitee", "email": "invitee@example.org"}),
    ("POST", "/api/activities/{activity_id:int}/invitations/csv"): Access(ORGANIZER, body={"csv": "name,email\nIn Vitee,iv@example.org\n"}),
    ("POST", "/api/activities/{activity_id:int}/questions"): Access(ORGANIZER, body={"label": "Anything we should know?"}),
    ("GET", "/api/activities/{activity_id:int}/rsvps"): Access(ORGANIZER, query={"sensitive": "true"}),
    ("POST", "/api/activities/{activity_id:int}/rsvps"): Access(PUBLIC, body=GUEST_FORM),
    ("GET", "/api/activities/{activity_id:int}/rsvps.csv"): Access(ORGANIZER),
    ("POST", "/api/activities/{activity_id:int}/rsvps/bulk"): Access(ORGANIZER, body={"action": "approve", "rsvp_ids": ["{rsvp_id}"]}),
    ("POST", "/api/activities/{activity_id:int}/walkins"): Access(MEMBER, body={"party": 1}, ok=frozenset({409})),
    # a guest's own RSVP
    ("GET", "/api/rsvps/{rsvp_id:int}"): Access(GUEST),
    ("PATCH", "/api/rsvps/{rsvp_id:int}"): Access(GUEST, body={"guests": 0}),
    ("POST", "/api/rsvps/{rsvp_id:int}/cancel"): Access(GUEST),
    ("POST", "/api/rsvps/{rsvp_id:int}/accept"): Access(GUEST),
    ("GET", "/api/rsvps/{rsvp_id:int}/data"): Access(GUEST),
    ("POST", "/api/rsvps/{rsvp_id:int}/erase"): Access(GUEST),
    # the organizer's queue
    ("POST", "/api/rsvps/{rsvp_id:int}/approve"): Access(ORGANIZER),
    ("POST", "/api/rsvps/{rsvp_id:int}/decline"): Access(ORGANIZER, body={"reason": "full"}),
    ("POST", "/api/rsvps/{rsvp_id:int}/waitlist"): Access(ORGANIZER),
    ("POST", "/api/rsvps/{rsvp_id:int}/remove"): Access(ORGANIZER, body={"reason": "asked"}),
    ("POST", "/api/rsvps/{rsvp_id:int}/move"): Access(ORGANIZER, body={"slot_id": "{slot_id}"}),
    ("POST", "/api/rsvps/{rsvp_id:int}/reorder"): Access(ORGANIZER, body={"position": 1, "reason": "priority"}),
    # check-in: a stranger's scan is simply "invalid" (200), and says no name
    ("POST", "/api/checkins"): Access(MEMBER, body={"code": "{ticket}"}, denied_ok=frozenset({200})),
    ("POST", "/api/checkins/batch"): Access(MEMBER, body={"scans": [{"code": "{ticket}", "scan_id": "m-1", "scanned_at": "{now}"}]},
                                            denied_ok=frozenset({200})),
    ("GET", "/api/scanner/activities"): Access(USER),
    ("GET", "/api/scanner/status"): Access(MEMBER, query={"activity_id": "{activity_id}"}),
    ("GET", "/api/scanner/pack"): Access(MEMBER, query={"activity_id": "{activity_id}"}),
    ("GET", "/api/scanner/search"): Access(MEMBER, query={"activity_id": "{activity_id}", "q": "gu"}),
    ("GET", "/api/spaces/{space_id:int}/presence"): Access(MEMBER),
    ("POST", "/api/spaces/{space_id:int}/presence"): Access(MEMBER, body={"direction": "in"}),
    ("GET", "/api/programs/{program_id:int}/live"): Access(MEMBER),
    ("GET", "/api/programs/{program_id:int}/live/events"): Access(MEMBER, stream=True, ok=frozenset({503})),  # 503: no live channel here
    # inventory
    ("GET", "/api/programs/{program_id:int}/items"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/items"): Access(ORGANIZER, body={"name": "Tea", "sku": "TEA-{n}"}),
    ("PATCH", "/api/items/{item_id:int}"): Access(ORGANIZER, body={"low_stock_at": 3}),
    ("GET", "/api/programs/{program_id:int}/kits"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/kits"): Access(ORGANIZER, body={"name": "Calm kit {n}", "items": [{"item_id": "{item_id}", "quantity": 1}]}),
    ("GET", "/api/programs/{program_id:int}/locations"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/locations"): Access(ORGANIZER, body={"name": "Shelf {n}"}),
    ("GET", "/api/programs/{program_id:int}/stock"): Access(MEMBER),
    ("GET", "/api/programs/{program_id:int}/stock.csv"): Access(MEMBER),
    ("GET", "/api/programs/{program_id:int}/stock/movements"): Access(MEMBER),
    ("GET", "/api/programs/{program_id:int}/stock/movements.csv"): Access(MEMBER),
    ("POST", "/api/programs/{program_id:int}/stock/movements"): Access(ORGANIZER, body={"item_id": "{item_id}", "quantity": 5, "kind": "receive"}),
    ("POST", "/api/programs/{program_id:int}/stock/deliveries"): Access(ORGANIZER, body={"csv": "item_id,quantity\n{item_id},2\n", "ref": "DN-{n}"}),
    ("GET", "/api/programs/{program_id:int}/forecast"): Access(MEMBER),
    # pages: organizers and staff
    ("GET", "/"): Access(USER),
    ("GET", "/programs/new"): Access(USER),
    ("POST", "/programs/new"): Access(ADMIN, body={**PROGRAM, "languages": "en"}),
    ("GET", "/programs/{program_id:int}"): Access(MEMBER),
    ("POST", "/programs/{program_id:int}/spaces"): Access(ORGANIZER, body={"name": "Quiet corner {n}", "capacity": "4"}),
    ("POST", "/programs/{program_id:int}/hosts"): Access(ORGANIZER, body={"name": "Host {n}"}),
    ("POST", "/programs/{program_id:int}/members"): Access(ORGANIZER, body={"email": "joiner@example.org", "role": "staff"}),
    ("POST", "/programs/{program_id:int}/unavailability"): Access(ORGANIZER, body={"host_id": "{host_id}", "starts_at": "2027-07-05T08:00", "ends_at": "2027-07-05T09:00"}),
    ("GET", "/programs/{program_id:int}/schedule"): Access(MEMBER),
    ("GET", "/programs/{program_id:int}/activities/new"): Access(MEMBER),
    ("POST", "/programs/{program_id:int}/activities/new"): Access(ORGANIZER, body={**ACTIVITY, "starts_at": "2027-07-04T09:00", "ends_at": "2027-07-04T09:30", "published": "on"}),
    ("GET", "/activities/{activity_id:int}/edit"): Access(MEMBER),
    ("POST", "/activities/{activity_id:int}/edit"): Access(ORGANIZER, body={"title": "Renamed {n}", "space_id": "{space_id}", "starts_at": "{starts_at}", "ends_at": "{ends_at}", "capacity": "10"}),
    ("GET", "/activities/{activity_id:int}/manage"): Access(MEMBER),
    ("POST", "/activities/{activity_id:int}/manage/approve"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}"}),
    ("POST", "/activities/{activity_id:int}/manage/decline"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}"}),
    ("POST", "/activities/{activity_id:int}/manage/waitlist"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}"}),
    ("POST", "/activities/{activity_id:int}/manage/remove"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}"}),
    ("POST", "/activities/{activity_id:int}/manage/bulk"): Access(ORGANIZER, body={"bulk_action": "approve"}),
    ("POST", "/activities/{activity_id:int}/manage/reorder"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}", "position": "1", "reason": "r"}),
    ("POST", "/activities/{activity_id:int}/manage/move"): Access(ORGANIZER, body={"rsvp_id": "{rsvp_id}"}),
    ("POST", "/activities/{activity_id:int}/manage/invite"): Access(ORGANIZER, body={"name": "X", "email": "x@example.org"}),
    ("POST", "/activities/{activity_id:int}/manage/question"): Access(ORGANIZER, body={"label": "Q"}),
    ("POST", "/activities/{activity_id:int}/manage/publish"): Access(ORGANIZER),
    ("POST", "/activities/{activity_id:int}/manage/cancel"): Access(ORGANIZER),
    ("POST", "/activities/{activity_id:int}/manage/undo"): Access(ORGANIZER),
    ("POST", "/activities/{activity_id:int}/manage/delete"): Access(ORGANIZER),
    ("GET", "/activities/{activity_id:int}/tickets.pdf"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/calendar"): Access(MEMBER),
    ("GET", "/programs/{program_id:int}/live"): Access(MEMBER),
    ("GET", "/programs/{program_id:int}/resources"): Access(ORGANIZER),
    ("POST", "/programs/{program_id:int}/resources"): Access(ORGANIZER, body={"action": "add", "name": "Night line", "kind": "other"}),
    ("GET", "/programs/{program_id:int}/stock"): Access(MEMBER),
    ("POST", "/programs/{program_id:int}/stock/{action:str}"): Access(ORGANIZER, params={"action": "location"}, body={"name": "Crate {n}"}),
    ("GET", "/programs/{program_id:int}/ledger"): Access(MEMBER),
    ("GET", "/programs/{program_id:int}/forecast"): Access(MEMBER),
    ("GET", "/spaces/{space_id:int}/presence"): Access(MEMBER),
    ("POST", "/spaces/{space_id:int}/presence"): Access(MEMBER, body={"direction": "in", "scan_id": "p-{n}"}),
    ("GET", "/scan"): Access(USER),
    ("GET", "/scan-sw.js"): Access(PUBLIC),
    # pages and files: guests and the public
    ("GET", "/p/{program_id:int}"): Access(PUBLIC),
    ("GET", "/a/{activity_id:int}"): Access(PUBLIC),
    ("POST", "/a/{activity_id:int}"): Access(PUBLIC, body=GUEST_FORM),
    ("GET", "/programs/{program_id:int}/calendar.ics"): Access(PUBLIC),
    ("GET", "/r/{rsvp_id:int}"): Access(GUEST),
    ("POST", "/r/{rsvp_id:int}/guests"): Access(GUEST, body={"guests": "0"}),
    ("POST", "/r/{rsvp_id:int}/accept"): Access(GUEST),
    ("POST", "/r/{rsvp_id:int}/rebook"): Access(GUEST),
    ("POST", "/r/{rsvp_id:int}/erase"): Access(GUEST),
    ("GET", "/r/{rsvp_id:int}/qr.png"): Access(GUEST),
    ("GET", "/r/{rsvp_id:int}/qr.svg"): Access(GUEST),
    ("GET", "/r/{rsvp_id:int}/ticket.png"): Access(GUEST),
    ("GET", "/r/{rsvp_id:int}/invite.ics"): Access(GUEST),
    ("GET", "/feeds/guest/{program_id:int}/{name:str}"): Access(GUEST, params={"name": "{rsvp_id}.ics"}),
    ("GET", "/feeds/user/{name:str}"): Access(OWNER, params={"name": "{organizer_id}.ics"}),
    ("HEAD", "/programs/{program_id:int}/calendar.ics"): Access(PUBLIC),
    ("HEAD", "/r/{rsvp_id:int}/invite.ics"): Access(GUEST),
    ("HEAD", "/feeds/guest/{program_id:int}/{name:str}"): Access(GUEST, params={"name": "{rsvp_id}.ics"}),
    ("HEAD", "/feeds/user/{name:str}"): Access(OWNER, params={"name": "{organizer_id}.ics"}),
    # the help hub (public, offline-capable)
    ("GET", "/api/help"): Access(PUBLIC, query={"country": "GB"}),
    ("GET", "/help"): Access(PUBLIC),
    ("GET", "/help/licence"): Access(PUBLIC),
    ("GET", "/help/sw.js"): Access(PUBLIC),
    ("GET", "/help/{country:str}"): Access(PUBLIC, params={"country": "GB"}),
    ("POST", "/api/programs/{program_id:int}/resources/order"): Access(ORGANIZER, body={"ids": []}),  # 409: not every entry
    ("POST", "/api/programs/{program_id:int}/resources/review"): Access(ORGANIZER, body={"country": "GB"}),
    # the care team: organizers (and the care role) read; guests and the public write
    ("GET", "/api/programs/{program_id:int}/care"): Access(ORGANIZER),
    ("PUT", "/api/programs/{program_id:int}/care"): Access(ORGANIZER, body={"address": "care@example.org"}),
    ("GET", "/api/programs/{program_id:int}/care/messages"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/care"): Access(ORGANIZER),
    ("POST", "/programs/{program_id:int}/care"): Access(ORGANIZER, body={"address": "care@example.org"}),
    ("POST", "/api/programs/{program_id:int}/care"): Access(PUBLIC, body={"message": "Could someone check in on our crew?"}),
    ("POST", "/p/{program_id:int}/care"): Access(PUBLIC, body={"message": "Could someone check in on our crew?"}),
    ("POST", "/api/rsvps/{rsvp_id:int}/care"): Access(GUEST, body={"message": "I would like to talk to someone."}),
    ("POST", "/r/{rsvp_id:int}/care"): Access(GUEST, body={"message": "I would like to talk to someone."}),
    # the impact report: organizers for a programme, the admin across all
    ("GET", "/api/programs/{program_id:int}/report"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/report"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/report.csv"): Access(ORGANIZER),
    ("GET", "/programs/{program_id:int}/report.pdf"): Access(ORGANIZER),
    ("POST", "/programs/{program_id:int}/report/feedback"): Access(ORGANIZER, body={"enabled": "on"}),
    ("POST", "/programs/{program_id:int}/report/follow-ups"): Access(ORGANIZER),
    ("GET", "/reports"): Access(ADMIN),
    ("GET", "/reports.csv"): Access(ADMIN),
    ("GET", "/reports.pdf"): Access(ADMIN),
    ("POST", "/feedback/{rsvp_id:int}"): Access(GUEST, body={"question": "feel", "value": "4"}),
    # the organizer's day: edit, delete (each asks first: no "confirmed" here), repeat, message, confirm
    ("GET", "/programs/{program_id:int}/edit"): Access(MEMBER),
    ("POST", "/programs/{program_id:int}/edit"): Access(ORGANIZER, body={**PROGRAM, "name": "Renamed festival {n}", "languages": "en"}),
    ("GET", "/spaces/{space_id:int}/edit"): Access(ORGANIZER),
    ("POST", "/spaces/{space_id:int}/edit"): Access(ORGANIZER, body={"name": "Main tent {n}", "capacity": "40"}),
    ("POST", "/spaces/{space_id:int}/delete"): Access(ORGANIZER),
    ("GET", "/hosts/{host_id:int}/edit"): Access(ORGANIZER),
    ("POST", "/hosts/{host_id:int}/edit"): Access(ORGANIZER, body={"name": "Dr. Renamed {n}"}),
    ("POST", "/hosts/{host_id:int}/delete"): Access(ORGANIZER),
    ("GET", "/items/{item_id:int}/edit"): Access(ORGANIZER),
    ("POST", "/items/{item_id:int}/edit"): Access(ORGANIZER, body={"name": "Tea {n}"}),
    ("POST", "/items/{item_id:int}/delete"): Access(ORGANIZER),
    ("GET", "/activities/{activity_id:int}/duplicate"): Access(MEMBER),
    ("POST", "/activities/{activity_id:int}/duplicate"): Access(ORGANIZER, body={"days": "2027-07-09"}),
    ("GET", "/activities/{activity_id:int}/confirm/{what:str}"): Access(ORGANIZER, params={"what": "cancel"}),
    ("GET", "/programs/{program_id:int}/delete"): Access(ORGANIZER),
    # A wrong name refuses (400) before anything is deleted: the world stays whole for the other routes.
    ("POST", "/programs/{program_id:int}/delete"): Access(ORGANIZER, body={"confirm_name": "not its name"}, ok=frozenset({400})),
    ("GET", "/activities/{activity_id:int}/message"): Access(MEMBER),
    ("POST", "/activities/{activity_id:int}/message"): Access(ORGANIZER, body={"subject": "Doors at ten", "message": "See you soon.", "audience": "confirmed"}),
    ("GET", "/programs/{program_id:int}/message"): Access(MEMBER),
    ("POST", "/programs/{program_id:int}/message"): Access(ORGANIZER, body={"subject": "Doors at ten", "message": "See you soon.", "audience": "confirmed"}),
    # a guest's own cancellation, asked first; an invitation declined with its code (without one: not found)
    ("GET", "/r/{rsvp_id:int}/cancel"): Access(GUEST),
    ("POST", "/r/{rsvp_id:int}/cancel"): Access(GUEST),
    ("POST", "/a/{activity_id:int}/decline"): Access(PUBLIC, ok=frozenset({404}), denied_ok=frozenset({404})),
}

# Names an outsider must never read in a denial.
SECRETS = ("Alpha Wellness Festival", "Moonlit Breathwork", "Quill Guestington", "quill@example.org", "Hidden Tent",
           "Dr. Alpha Host", "Alpha Earplugs")


def route_table(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                if method != "OPTIONS":
                    out.add((method, route.path))
    return out


def test_every_route_has_an_entry_in_the_matrix():
    from planner.app import create_app

    routes = route_table(create_app(run_worker=False))
    missing = sorted(routes - set(ACCESS))
    stale = sorted(set(ACCESS) - routes)
    assert not missing, f"routes without an entry in ACCESS (tests/trust/test_access_matrix.py): {missing}"
    assert not stale, f"entries in ACCESS for routes that no longer exist: {stale}"


# ---------------------------------------------------------------- the world

async def _token(client, email) -> str:
    r = await client.post("/api/auth/token", json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


class World:
    """Programme A (the one every route is aimed at) and programme B (whose people are outsiders to A)."""

    def __init__(self, app):
        self.app = app
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.bearer: dict[str, str] = {}
        self.ids: dict[str, Any] = {}
        self.n = 0

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver.local")

    async def build(self) -> None:
        for email in ("organizer@example.org", "orgb@example.org", "admin@example.org"):
            await make_user(email, admin=True)
        for email in ("staff@example.org", "staffb@example.org", "joiner@example.org", "leaver@example.org"):
            await make_user(email, admin=False)
        c = self.client()
        self.bearer["organizer"] = await _token(c, "organizer@example.org")
        self.bearer["organizer_other"] = await _token(c, "orgb@example.org")
        org = {"Authorization": f"Bearer {self.bearer['organizer']}"}
        orgb = {"Authorization": f"Bearer {self.bearer['organizer_other']}"}

        async def post(url, body, h=org):
            r = await c.post(url, json=body, headers=h)
            assert r.status_code == 201, (url, r.text)
            return r.json()

        a = await post("/api/programs", {**PROGRAM, "name": "Alpha Wellness Festival", "starts_on": "2027-07-01", "ends_on": "2027-07-07"})
        b = await post("/api/programs", {**PROGRAM, "name": "Beta Fest"}, orgb)
        space = await post(f"/api/programs/{a['id']}/spaces", {"name": "Hidden Tent", "capacity": 40})
        host = await post(f"/api/programs/{a['id']}/hosts", {"name": "Dr. Alpha Host"})
        item = await post(f"/api/programs/{a['id']}/items", {"name": "Alpha Earplugs", "sku": "EAR-A"})
        await post(f"/api/programs/{a['id']}/members", {"email": "staff@example.org", "role": "staff"})
        await post(f"/api/programs/{b['id']}/members", {"email": "staffb@example.org", "role": "staff"}, orgb)
        space_b = await post(f"/api/programs/{b['id']}/spaces", {"name": "B tent", "capacity": 9}, orgb)
        act_b = await post(f"/api/programs/{b['id']}/activities", {**ACTIVITY, "space_id": space_b["id"], "title": "B yoga",
                                                                    "starts_at": "2027-08-01T10:00", "ends_at": "2027-08-01T11:00"}, orgb)
        other = await post(f"/api/activities/{act_b['id']}/rsvps", {"name": "Other Guest", "email": "other@example.org"}, {})
        resource = await SupportResource.select(SupportResource.id).where(SupportResource.program == a["id"]).first()
        # Only the admin flag of the admin account is kept: organizers are organizers through membership.
        await User.update({User.is_admin: False}).where(User.email.is_in(["organizer@example.org", "orgb@example.org"]))
        self.bearer["staff"] = await _token(c, "staff@example.org")
        self.bearer["staff_other"] = await _token(c, "staffb@example.org")
        self.bearer["admin"] = await _token(c, "admin@example.org")
        organizer_id = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
        self.ids["leaver_id"] = (await User.select(User.id).where(User.email == "leaver@example.org").first())["id"]
        self.ids.update(program_id=a["id"], space_id=space["id"], host_id=host["id"], item_id=item["id"],
                        resource_id=resource["id"],
                        organizer_id=organizer_id, other_token=other["manage_url"].split("token=")[1])
        await c.aclose()
        # Page sessions, one per role; a CSRF cookie for everyone.
        emails = {"staff_other": "staffb@example.org", "organizer_other": "orgb@example.org", "staff": "staff@example.org",
                  "organizer": "organizer@example.org", "admin": "admin@example.org"}
        for role in ROLES:
            self.clients[role] = await self.session(role, emails.get(role))
        self.emails = emails

    async def session(self, role: str, email: str | None) -> httpx.AsyncClient:
        cl = self.client()
        if email:
            await login_session(cl, email=email)
        else:
            await cl.get("/login")
        return cl

    async def fresh(self) -> None:
        """A new activity and guest in A for each route, so that one route's writes never decide another's."""
        self.n += 1
        # Every role calls from one test address: the throttle's counts (its own tests cover them) start
        # afresh for each route, or the matrix's deliberate wrong tokens would add up to a 429.
        await ThrottleHit.delete(force=True)
        org = {"Authorization": f"Bearer {self.bearer['organizer']}"}
        c = self.clients["anonymous"]
        start = datetime(2027, 7, 6, 0, 0) + timedelta(minutes=10 * self.n)
        r = await c.post(f"/api/programs/{self.ids['program_id']}/activities", headers=org, json={
            **ACTIVITY, "title": "Moonlit Breathwork", "space_id": self.ids["space_id"], "capacity": 10,
            "starts_at": start.isoformat(timespec="minutes"), "ends_at": (start + timedelta(minutes=5)).isoformat(timespec="minutes")})
        assert r.status_code == 201, r.text
        act = r.json()
        # Someone whose role may be changed or who may be removed, a member again for every route.
        r = await c.post(f"/api/programs/{self.ids['program_id']}/members", headers=org, json={"email": "leaver@example.org", "role": "staff"})
        assert r.status_code in (201, 409), r.text
        g = await c.post(f"/api/activities/{act['id']}/rsvps", json={"name": "Quill Guestington", "email": "quill@example.org"})
        assert g.status_code == 201, g.text
        g = g.json()
        self.ids.update(starts_at=start.isoformat(timespec="minutes"), ends_at=(start + timedelta(minutes=5)).isoformat(timespec="minutes"))
        self.ids.update(activity_id=act["id"], slot_id=act["slots"][0]["id"], rsvp_id=g["id"],
                        token=g["manage_url"].split("token=")[1], ticket=g["ticket"]["code"], n=self.n, now=start.isoformat() + "+00:00")

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for key, v in self.ids.items():
                if value == "{" + key + "}" and isinstance(v, int):
                    return v
                value = value.replace("{" + key + "}", str(v))
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


def _url(world: World, path: str, access: Access) -> str:
    out = path
    for part in path.split("{")[1:]:
        spec = part.split("}")[0]
        name = spec.split(":")[0]
        value = access.params.get(name, "{" + name + "}")
        out = out.replace("{" + spec + "}", str(world.fill(value)))
    return out.replace("//", "/")


async def _call(world: World, role: str, method: str, path: str, access: Access, *, own_token: bool = False) -> httpx.Response:
    is_api = path.startswith("/api/")
    url = _url(world, path, access)
    query = {k: world.fill(v) for k, v in access.query.items()}
    if access.level == GUEST:
        if own_token:
            query["token"] = world.ids["token"]
            if path.startswith("/feeds/guest"):
                query["token"] = guest_feed_url(world.ids["program_id"], world.ids["rsvp_id"], "quill@example.org").split("token=")[1]
        elif role == "guest_other":
            query["token"] = world.ids["other_token"]
    if access.level == OWNER and own_token:
        query["token"] = user_feed_url(world.ids["organizer_id"]).split("token=")[1]
    client = world.clients[role]
    if access.isolated:
        client = await world.session(role, getattr(world, "emails", {}).get(role))
    headers = {"accept": "application/json" if is_api else "text/html"}
    if is_api and role in world.bearer:
        bearer = world.bearer[role]
        if access.fresh_bearer:
            bearer = await _token(world.clients["anonymous"], world.emails[role])
        headers["Authorization"] = f"Bearer {bearer}"
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if method in ("POST", "PATCH", "PUT", "DELETE") and not is_api:
        kwargs["data"] = {**{k: str(v) for k, v in world.fill(access.body or {}).items()}, "_csrf_token": client.cookies.get("csrftoken", "")}
    elif access.body is not None:
        kwargs["json"] = world.fill(access.body)
    try:
        if access.stream:
            async with client.stream(method, url, **kwargs) as r:
                if r.status_code == 200:
                    async for _ in r.aiter_bytes():
                        break
                else:
                    await r.aread()
                return r
        return await client.request(method, url, **kwargs)
    finally:
        if access.isolated:
            await client.aclose()


def _denied(role: str, r: httpx.Response, is_api: bool, access: Access) -> str | None:
    """None when this is a proper denial; otherwise what is wrong."""
    login = r.status_code in (302, 303) and r.headers.get("location", "").startswith("/login")
    no_session = role in ("anonymous", "guest_other")
    if not (r.status_code in (401, 403, 404) or (not is_api and no_session and login) or r.status_code in access.denied_ok):
        return f"expected a denial, got {r.status_code}: {r.text[:200]}"
    if role in OUTSIDERS:
        text = r.text if not access.stream else ""
        for secret in SECRETS:
            if secret in text or secret in r.headers.get("location", ""):
                return f"the denial names {secret!r}"
        if is_api and r.status_code in (401, 403, 404):
            body = r.json()
            if not set(body) <= {"status_code", "detail", "extra"}:
                return f"the denial carries more than an error: {sorted(body)}"
            if body.get("extra"):
                return f"the denial carries details: {body['extra']!r}"
            if any(ch.isdigit() for ch in str(body.get("detail", ""))):
                return f"the denial's sentence holds a number: {body['detail']!r}"
    return None


def _allowed(r: httpx.Response, is_api: bool, access: Access) -> str | None:
    login = r.status_code in (302, 303) and r.headers.get("location", "").startswith("/login")
    if r.status_code in access.ok:
        return None
    if r.status_code >= 500 or r.status_code in (401, 403, 404) or login:
        return f"expected access, got {r.status_code}: {r.text[:300]}"
    return None


@pytest.fixture
async def world(app, client):
    w = World(app)
    await w.build()
    yield w
    for c in w.clients.values():
        await c.aclose()


async def test_access_matrix_every_route_every_role(world):
    problems = []
    for (method, path), access in sorted(ACCESS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        await world.fresh()
        is_api = path.startswith("/api/")
        allowed = ALLOWED[access.level]
        # Denied roles first, so that an allowed write cannot make a denial look right.
        for role in sorted(ROLES, key=lambda x: x in allowed):
            r = await _call(world, role, method, path, access)
            wrong = _allowed(r, is_api, access) if role in allowed else _denied(role, r, is_api, access)
            if wrong:
                problems.append(f"{method} {path} as {role}: {wrong}")
        if access.level in (GUEST, OWNER):
            await world.fresh()
            r = await _call(world, "anonymous", method, path, access, own_token=True)
            wrong = _allowed(r, is_api, access)
            if wrong:
                problems.append(f"{method} {path} with its own token: {wrong}")
    assert not problems, "\n".join(problems)
