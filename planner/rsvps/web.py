"""JSON API for RSVPs, invitations, questions and the organizer's queue."""
from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Dependency

from planner import i18n
from planner.clock import utcnow
from planner.privacy import erase_guest, export_guest_data
from planner.rsvps import answers as rsvp_answers
from planner.rsvps import booking as rsvp_booking
from planner.rsvps import invitations as rsvp_invitations
from planner.rsvps import organizer as rsvp_organizer
from planner.web_common import Out, User, as_dict, typed

UNSET = msgspec.UNSET


class RsvpIn(msgspec.Struct):
    name: str
    email: str
    guests: int | msgspec.UnsetType = UNSET
    slot_id: int | str | None | msgspec.UnsetType = UNSET
    answers: dict[str, Any] | msgspec.UnsetType = UNSET
    invite_code: str | None | msgspec.UnsetType = UNSET
    language: str | msgspec.UnsetType = UNSET


class RepeatOut(Out):
    status: str
    detail: str


class GuestPatch(msgspec.Struct):
    guests: int


class InvitationIn(msgspec.Struct):
    name: str
    email: str


class InvitationsCsvIn(msgspec.Struct):
    csv: str


class QuestionIn(msgspec.Struct):
    label: str
    kind: str | msgspec.UnsetType = UNSET
    choices: list[str] | msgspec.UnsetType = UNSET
    sensitive: bool | msgspec.UnsetType = UNSET
    per_guest: bool | msgspec.UnsetType = UNSET
    required: bool | msgspec.UnsetType = UNSET


class ReasonIn(msgspec.Struct):
    reason: str | msgspec.UnsetType = UNSET


class ReorderIn(msgspec.Struct):
    position: int
    reason: str


class MoveIn(msgspec.Struct):
    slot_id: int


class BulkIn(msgspec.Struct):
    action: str
    rsvp_ids: list[int]


# ---------------------------------------------------------------- what the API answers

class TicketOut(Out):
    code: str
    qr_png_url: str
    qr_svg_url: str
    admits: int


class RsvpOut(Out):
    id: int
    activity_id: int
    slot_id: int
    name: str
    email: str
    guests: int
    party: int
    status: str
    manage_url: str
    invite_ics_url: str
    waitlist_position: int | None | msgspec.UnsetType = UNSET
    offer_expires_at: str | msgspec.UnsetType = UNSET
    ticket: TicketOut | msgspec.UnsetType = UNSET
    answers: dict[str, Any] | msgspec.UnsetType = UNSET
    note: str | msgspec.UnsetType = UNSET
    created_at: str | msgspec.UnsetType = UNSET


class BulkResultOut(Out):
    """One RSVP's outcome in a bulk action: the RSVP, or why it was not changed."""
    id: int
    error: str | msgspec.UnsetType = UNSET
    activity_id: int | msgspec.UnsetType = UNSET
    slot_id: int | msgspec.UnsetType = UNSET
    name: str | msgspec.UnsetType = UNSET
    email: str | msgspec.UnsetType = UNSET
    guests: int | msgspec.UnsetType = UNSET
    party: int | msgspec.UnsetType = UNSET
    status: str | msgspec.UnsetType = UNSET
    manage_url: str | msgspec.UnsetType = UNSET
    invite_ics_url: str | msgspec.UnsetType = UNSET
    waitlist_position: int | None | msgspec.UnsetType = UNSET
    offer_expires_at: str | msgspec.UnsetType = UNSET
    ticket: TicketOut | msgspec.UnsetType = UNSET


class ErasedOut(Out):
    status: str


class TimesOut(Out):
    starts_at: str
    ends_at: str


class MyRsvpOut(Out):
    """One of the guest's RSVPs as stored: times in the programme's zone, `when` in the guest's language,
    answers by question label."""
    activity: str
    starts_at: str
    ends_at: str
    times: list[TimesOut]
    when: list[str]
    status: str
    name: str
    email: str
    plus_ones: int
    answers: dict[str, Any]
    created_at: str
    updated_at: str


class MyDataOut(Out):
    """Everything stored about the guest in the programme, keyed by their email."""
    rsvps: list[MyRsvpOut]


class InvitationOut(Out):
    id: int
    name: str
    email: str
    invite_code: str
    url: str
    used: bool
    created: bool


class InvitationsCsvOut(Out):
    created: int
    already_invited: int
    problems: list[dict[str, Any]]
    invitations: list[InvitationOut]


class QuestionOut(Out):
    id: int
    label: str
    kind: str
    sensitive: bool
    per_guest: bool
    required: bool
    position: int
    choices: list[str]


async def _optional(request: Request, struct: type) -> dict:
    body = await request.body()
    return as_dict(msgspec.json.decode(body, type=struct)) if body.strip() else {}


class GuestRsvpController(Controller):
    """Calls a guest makes without an account: the RSVP itself, then their token link."""

    path = "/api"
    tags = ["rsvps"]

    @post("/activities/{activity_id:int}/rsvps", status_code=201,
          responses={202: ResponseSpec(data_container=RepeatOut, description="The address already holds an active RSVP "
                                       "here: nothing about it is answered; its personal link is e-mailed to that address again.")})
    async def create(self, activity_id: int, data: RsvpIn, request: Request) -> Response[RsvpOut]:
        body = as_dict(data)
        lang = i18n.supported(body.pop("language", None))  # else the request's, settled for the programme
        out, created = await rsvp_booking.create_rsvp(activity_id, body, now=utcnow(), language=lang)
        if created:
            return Response(typed(RsvpOut, out), status_code=201)
        return Response(typed(RepeatOut, out), status_code=202)

    @get("/activities/{activity_id:int}/rsvps")
    async def index(self, activity_id: int, user: User = Dependency(skip_validation=True), status: str | None = None,
                    sensitive: bool = False) -> list[RsvpOut]:
        return typed(list[RsvpOut], await rsvp_organizer.list_rsvps(activity_id, user=user, status=status, include_sensitive=sensitive, now=utcnow()))

    @get("/rsvps/{rsvp_id:int}")
    async def show(self, rsvp_id: int, token: str | None = None) -> RsvpOut:
        return typed(RsvpOut, await rsvp_booking.get_guest_rsvp(rsvp_id, token))

    @patch("/rsvps/{rsvp_id:int}")
    async def change(self, rsvp_id: int, data: GuestPatch, token: str | None = None) -> RsvpOut:
        return typed(RsvpOut, await rsvp_booking.change_guests(rsvp_id, token, data.guests, now=utcnow()))

    @post("/rsvps/{rsvp_id:int}/cancel", status_code=200)
    async def cancel(self, rsvp_id: int, token: str | None = None) -> RsvpOut:
        return typed(RsvpOut, await rsvp_booking.cancel_guest(rsvp_id, token, now=utcnow()))

    @get("/rsvps/{rsvp_id:int}/data")
    async def my_data(self, rsvp_id: int, token: str | None = None) -> Response[MyDataOut]:
        return Response(typed(MyDataOut, await export_guest_data(rsvp_id, token)), headers={"cache-control": "no-store",
                        "content-disposition": f'attachment; filename="my-data-{rsvp_id}.json"'})

    @post("/rsvps/{rsvp_id:int}/erase", status_code=200)
    async def erase(self, rsvp_id: int, token: str | None = None) -> ErasedOut:
        await erase_guest(rsvp_id, token, now=utcnow())
        return ErasedOut(status="erased")

    @post("/rsvps/{rsvp_id:int}/accept", status_code=200)
    async def accept(self, rsvp_id: int, token: str | None = None) -> RsvpOut:
        return typed(RsvpOut, await rsvp_booking.accept_offer(rsvp_id, token, now=utcnow()))


class OrganizerRsvpController(Controller):
    path = "/api"
    tags = ["rsvps"]

    @get("/activities/{activity_id:int}/rsvps.csv", media_type="text/csv")
    async def export(self, activity_id: int, user: User = Dependency(skip_validation=True), sensitive: bool = False) -> Response[str]:
        text = await rsvp_organizer.export_csv(activity_id, user=user, include_sensitive=sensitive, now=utcnow())
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="activity-{activity_id}-rsvps.csv"', "cache-control": "no-store"})

    @post("/rsvps/{rsvp_id:int}/approve", status_code=200)
    async def approve(self, rsvp_id: int, user: User = Dependency(skip_validation=True)) -> RsvpOut:
        return typed(RsvpOut, await rsvp_organizer.approve(rsvp_id, user=user, now=utcnow()))

    @post("/rsvps/{rsvp_id:int}/decline", status_code=200)
    async def decline(self, rsvp_id: int, request: Request, user: User = Dependency(skip_validation=True)) -> RsvpOut:
        data = await _optional(request, ReasonIn)
        return typed(RsvpOut, await rsvp_organizer.decline(rsvp_id, user=user, now=utcnow(), reason=data.get("reason", "")))

    @post("/rsvps/{rsvp_id:int}/waitlist", status_code=200)
    async def waitlist(self, rsvp_id: int, user: User = Dependency(skip_validation=True)) -> RsvpOut:
        return typed(RsvpOut, await rsvp_organizer.waitlist(rsvp_id, user=user, now=utcnow()))

    @post("/rsvps/{rsvp_id:int}/remove", status_code=200)
    async def remove(self, rsvp_id: int, request: Request, user: User = Dependency(skip_validation=True)) -> RsvpOut:
        data = await _optional(request, ReasonIn)
        return typed(RsvpOut, await rsvp_organizer.remove(rsvp_id, user=user, now=utcnow(), reason=data.get("reason", "")))

    @post("/rsvps/{rsvp_id:int}/move", status_code=200)
    async def move(self, rsvp_id: int, data: MoveIn, user: User = Dependency(skip_validation=True)) -> RsvpOut:
        return typed(RsvpOut, await rsvp_organizer.move(rsvp_id, data.slot_id, user=user, now=utcnow()))

    @post("/rsvps/{rsvp_id:int}/reorder", status_code=200)
    async def reorder(self, rsvp_id: int, data: ReorderIn, user: User = Dependency(skip_validation=True)) -> list[RsvpOut]:
        return typed(list[RsvpOut], await rsvp_organizer.reorder(rsvp_id, data.position, user=user, reason=data.reason, now=utcnow()))

    @post("/activities/{activity_id:int}/rsvps/bulk", status_code=200)
    async def bulk(self, activity_id: int, data: BulkIn, user: User = Dependency(skip_validation=True)) -> list[BulkResultOut]:
        return typed(list[BulkResultOut], await rsvp_organizer.bulk(activity_id, data.action, data.rsvp_ids, user=user, now=utcnow()))

    @post("/activities/{activity_id:int}/invitations", status_code=201)
    async def invite(self, activity_id: int, data: InvitationIn, user: User = Dependency(skip_validation=True)) -> Response[InvitationOut]:
        out = typed(InvitationOut, await rsvp_invitations.invite(activity_id, as_dict(data), user=user, now=utcnow()))
        return Response(out, status_code=201 if out.created else 200)

    @post("/activities/{activity_id:int}/invitations/csv", status_code=200)
    async def invite_csv(self, activity_id: int, data: InvitationsCsvIn, user: User = Dependency(skip_validation=True)) -> InvitationsCsvOut:
        return typed(InvitationsCsvOut, await rsvp_invitations.invite_many(activity_id, data.csv, user=user, now=utcnow()))

    @get("/activities/{activity_id:int}/invitations")
    async def invitations(self, activity_id: int, user: User = Dependency(skip_validation=True)) -> list[InvitationOut]:
        return typed(list[InvitationOut], await rsvp_invitations.list_invitations(activity_id, user=user))

    @post("/activities/{activity_id:int}/questions", status_code=201)
    async def add_question(self, activity_id: int, data: QuestionIn, user: User = Dependency(skip_validation=True)) -> QuestionOut:
        return typed(QuestionOut, await rsvp_answers.add_question(activity_id, as_dict(data), user=user))
