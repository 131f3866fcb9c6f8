"""An RSVP as the API and the pages show it: its links, its fields, its place in the line."""
from __future__ import annotations

from typing import Any

from planner.errors import not_found
from planner.fields import loads
from planner.programs.tables import Program
from planner.rsvps.tables import Rsvp
from planner.settings import get_settings
from planner.tokens import rsvp_token

MAX_CSV_ROWS = 5000



def urls(rsvp_id: int) -> dict:
    base = get_settings().base_url
    t = rsvp_token(rsvp_id)
    return {
        "manage_url": f"{base}/r/{rsvp_id}?token={t}",
        "invite_ics_url": f"{base}/r/{rsvp_id}/invite.ics?token={t}",
        "qr_png_url": f"{base}/r/{rsvp_id}/qr.png?token={t}",
        "qr_svg_url": f"{base}/r/{rsvp_id}/qr.svg?token={t}",
        "token": t,
    }


def rsvp_out(r: dict, *, position: int | None = None, include_answers: bool = False) -> dict:
    u = urls(r["id"])
    out: dict[str, Any] = {
        "id": r["id"],
        "activity_id": r["activity"],
        "slot_id": r["slot"],
        "name": r["name"],
        "email": r["email"],
        "guests": r["guests"],
        "party": 1 + r["guests"],
        "status": r["status"],
        "manage_url": u["manage_url"],
        "invite_ics_url": u["invite_ics_url"],
    }
    if r["status"] == "waitlisted":
        out["waitlist_position"] = position
    if r["status"] == "offered" and r.get("offer_expires_at"):
        out["offer_expires_at"] = r["offer_expires_at"].isoformat()
    if r["status"] == "confirmed":
        out["ticket"] = {"code": r["ticket_code"], "qr_png_url": u["qr_png_url"], "qr_svg_url": u["qr_svg_url"], "admits": 1 + r["guests"]}
    if include_answers:
        out["answers"] = loads(r["answers"])
    return out


async def waitlist_position(r: dict) -> int | None:
    if r["status"] != "waitlisted" or r["queue_seq"] is None:
        return None
    return await Rsvp.count().where(
        (Rsvp.slot == r["slot"]) & (Rsvp.status == "waitlisted") & (Rsvp.queue_seq <= r["queue_seq"])
    )


def _int_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise not_found("That activity") from None


async def program_of_rsvp(rsvp_id: int) -> dict:
    r = await Rsvp.select(Rsvp.program).where(Rsvp.id == rsvp_id).first()
    return await Program.select().where(Program.id == r["program"]).first()
