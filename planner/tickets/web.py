"""Check-in API and the ticket files (QR PNG/SVG, printable card, all tickets of an activity as a PDF)."""
from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Dependency

from planner.accounts.rules import token_hash
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs.rules import require_role
from planner.rsvps.booking import guest_rsvp
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity
from planner.tickets import channels as tickets_channels
from planner.tickets import qr, rules
from planner.tickets.card import card_for
from planner.tickets.shapes_web import BatchOut, ScanOut
from planner.web_common import User, current_user, typed

UNSET = msgspec.UNSET


class ScanIn(msgspec.Struct):
    code: str
    slot_id: int | str | None | msgspec.UnsetType = UNSET
    scan_id: str | None | msgspec.UnsetType = UNSET
    scanned_at: str | None | msgspec.UnsetType = UNSET
    device: str | msgspec.UnsetType = UNSET
    # "Admit anyway": a ticket for another slot of the same activity, let in by staff or an organizer with a reason.
    override: bool | None | msgspec.UnsetType = UNSET
    reason: str | None | msgspec.UnsetType = UNSET


class BatchIn(msgspec.Struct):
    scans: list[dict[str, Any]]
    device: str | msgspec.UnsetType = UNSET


def _device(request: Request, given: Any) -> str:
    if isinstance(given, str) and given.strip():
        return given.strip()[:100]
    return (request.headers.get("x-device") or "")[:100]


class CheckinController(Controller):
    path = "/api/checkins"
    tags = ["check-in"]

    @post("/", status_code=200)
    async def scan(self, request: Request, data: ScanIn) -> ScanOut:
        item = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}
        device = _device(request, item.pop("device", None))
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            # The token is checked inside the scan's own statement: one round trip on PostgreSQL.
            result = await rules.scan_one(item, user=None, token_hash=token_hash(auth[7:].strip()), device=device, now=utcnow())
        else:
            result = await rules.scan_one(item, user=await current_user(request), device=device, now=utcnow())
        # The scan's transaction has committed: tell open dashboards (queued only; never raises).
        await tickets_channels.publish_scans(request.app, [result])
        return typed(ScanOut, result)

    @post("/batch", status_code=200)
    async def batch(self, request: Request, data: BatchIn, user: User = Dependency(skip_validation=True)) -> BatchOut:
        device = _device(request, data.device if data.device is not UNSET else None)
        results = await rules.scan_batch(data.scans, user=user, device=device, now=utcnow())
        await tickets_channels.publish_scans(request.app, results)
        return typed(BatchOut, {"results": results})


async def _ticket(rsvp_id: int, token: str | None) -> dict:
    r = await guest_rsvp(rsvp_id, token)
    if r["status"] != "confirmed":
        raise PlannerError("There is no ticket until your place is confirmed.", "not_found")
    return r


PRIVATE = {"cache-control": "private, no-store", "referrer-policy": "no-referrer"}


@get("/r/{rsvp_id:int}/qr.png", tags=["tickets"], media_type="image/png", summary="A ticket's QR code (PNG)")
async def ticket_png(rsvp_id: int, token: str | None = None) -> Response[bytes]:
    r = await _ticket(rsvp_id, token)
    return Response(qr.qr_png(r["ticket_code"]), media_type="image/png", headers=PRIVATE)


@get("/r/{rsvp_id:int}/qr.svg", tags=["tickets"], media_type="image/svg+xml", summary="A ticket's QR code (SVG)")
async def ticket_svg(rsvp_id: int, token: str | None = None) -> Response[bytes]:
    r = await _ticket(rsvp_id, token)
    return Response(qr.qr_svg(r["ticket_code"]), media_type="image/svg+xml", headers=PRIVATE)


async def _card(r: dict) -> bytes:
    # Each card speaks its guest's language, the one they RSVPed in, also in the organizers' printed PDF.
    return qr.ticket_card_png(await card_for(r))


@get("/r/{rsvp_id:int}/ticket.png", include_in_schema=False)
async def ticket_card(rsvp_id: int, token: str | None = None) -> Response[bytes]:
    r = await _ticket(rsvp_id, token)
    return Response(await _card(r), media_type="image/png",
                    headers={**PRIVATE, "content-disposition": f'inline; filename="ticket-{rsvp_id}.png"'})


@get("/activities/{activity_id:int}/tickets.pdf", include_in_schema=False)
async def tickets_pdf(activity_id: int, user: User = Dependency(skip_validation=True)) -> Response[bytes]:
    a = await Activity.select(Activity.program).where(Activity.id == activity_id).first()
    if not a:
        raise PlannerError("That activity was not found.", "not_found")
    await require_role(user, a["program"], "organizer")
    rows = await Rsvp.select().where((Rsvp.activity == activity_id) & (Rsvp.status == "confirmed")).order_by(Rsvp.name)
    if not rows:
        raise PlannerError("Nobody is confirmed yet, so there are no tickets to print.", "not_found")
    cards = [await _card(r) for r in rows]
    return Response(qr.tickets_pdf(cards), media_type="application/pdf",
                    headers={**PRIVATE, "content-disposition": f'inline; filename="activity-{activity_id}-tickets.pdf"'})


def routes() -> list:
    return [CheckinController, ticket_png, ticket_svg, ticket_card, tickets_pdf]
