"""JSON API for programmes, spaces, hosts, members and activities. Handlers parse, call one rule, answer."""
from __future__ import annotations

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Dependency

from planner.changes import activities as activity_changes
from planner.changes import programs as program_changes
from planner.changes import spaces as space_changes
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs import rules as programs
from planner.programs import team
from planner.scheduling import activities as sched_activities
from planner.scheduling import hosts as sched_hosts
from planner.scheduling import spaces as sched_spaces
from planner.web_common import Out, User, as_dict, typed

UNSET = msgspec.UNSET


class ProgramIn(msgspec.Struct):
    name: str
    timezone: str
    country: str
    starts_on: str
    ends_on: str
    languages: list[str] | msgspec.UnsetType = UNSET
    care_email: str | msgspec.UnsetType = UNSET
    venue_address: str | msgspec.UnsetType = UNSET


class SpaceIn(msgspec.Struct):
    name: str
    capacity: int
    access_notes: str | msgspec.UnsetType = UNSET
    address: str | msgspec.UnsetType = UNSET
    turnover_minutes: int | msgspec.UnsetType = UNSET
    counts_presence: bool | msgspec.UnsetType = UNSET


class SpacePatch(msgspec.Struct):
    name: str | msgspec.UnsetType = UNSET
    capacity: int | msgspec.UnsetType = UNSET
    access_notes: str | msgspec.UnsetType = UNSET
    address: str | msgspec.UnsetType = UNSET
    turnover_minutes: int | msgspec.UnsetType = UNSET
    counts_presence: bool | msgspec.UnsetType = UNSET


class HostIn(msgspec.Struct):
    name: str
    email: str | None | msgspec.UnsetType = UNSET


class UnavailabilityIn(msgspec.Struct):
    starts_at: str
    ends_at: str
    note: str | msgspec.UnsetType = UNSET


class MemberIn(msgspec.Struct):
    email: str
    role: str


class SlotIn(msgspec.Struct):
    starts_at: str
    ends_at: str
    capacity: int | msgspec.UnsetType = UNSET


class ActivityIn(msgspec.Struct):
    kind: str
    title: str
    space_id: int | str
    starts_at: str
    ends_at: str
    capacity: int
    rsvp_mode: str | msgspec.UnsetType = UNSET
    host_ids: list[int | str] | msgspec.UnsetType = UNSET
    max_guests: int | msgspec.UnsetType = UNSET
    kit_id: int | str | None | msgspec.UnsetType = UNSET
    slots: list[SlotIn] | msgspec.UnsetType = UNSET
    slot_minutes: int | msgspec.UnsetType = UNSET
    slot_gap_minutes: int | msgspec.UnsetType = UNSET
    published: bool | msgspec.UnsetType = UNSET
    description: str | msgspec.UnsetType = UNSET
    what_to_bring: str | msgspec.UnsetType = UNSET
    rsvp_deadline: str | None | msgspec.UnsetType = UNSET
    promotion: str | msgspec.UnsetType = UNSET
    hold_hours: int | msgspec.UnsetType = UNSET
    walkin_estimate: int | msgspec.UnsetType = UNSET


class ActivityPatch(msgspec.Struct):
    kind: str | msgspec.UnsetType = UNSET
    title: str | msgspec.UnsetType = UNSET
    space_id: int | str | msgspec.UnsetType = UNSET
    starts_at: str | msgspec.UnsetType = UNSET
    ends_at: str | msgspec.UnsetType = UNSET
    capacity: int | msgspec.UnsetType = UNSET
    rsvp_mode: str | msgspec.UnsetType = UNSET
    host_ids: list[int | str] | msgspec.UnsetType = UNSET
    max_guests: int | msgspec.UnsetType = UNSET
    kit_id: int | str | None | msgspec.UnsetType = UNSET
    published: bool | msgspec.UnsetType = UNSET
    description: str | msgspec.UnsetType = UNSET
    what_to_bring: str | msgspec.UnsetType = UNSET
    rsvp_deadline: str | None | msgspec.UnsetType = UNSET
    promotion: str | msgspec.UnsetType = UNSET
    hold_hours: int | msgspec.UnsetType = UNSET
    walkin_estimate: int | msgspec.UnsetType = UNSET
    overbook_ok: bool | msgspec.UnsetType = UNSET


class CancelIn(msgspec.Struct):
    reason: str | msgspec.UnsetType = UNSET


# ---------------------------------------------------------------- what the API answers

class ProgramOut(Out):
    id: int
    name: str
    timezone: str
    country: str
    starts_on: str
    ends_on: str
    languages: list[str]
    care_email: str
    venue_address: str
    reminder_hours: str
    role: str | msgspec.UnsetType = UNSET


class SpaceOut(Out):
    id: int
    program_id: int
    name: str
    capacity: int
    access_notes: str
    address: str
    turnover_minutes: int
    counts_presence: bool
    inside: int


class HostOut(Out):
    id: int
    program_id: int
    name: str
    email: str | None


class UnavailabilityOut(Out):
    id: int
    host_id: int
    starts_at: str
    ends_at: str
    note: str


class MemberOut(Out):
    user_id: int
    email: str
    role: str
    program_id: int | msgspec.UnsetType = UNSET
    pending: bool | msgspec.UnsetType = UNSET


class SlotOut(Out):
    id: int
    starts_at: str
    ends_at: str
    capacity: int
    confirmed: int
    waiting: int


class SpaceRef(Out):
    id: int
    name: str


class ActivityOut(Out):
    id: int
    program_id: int
    kind: str
    title: str
    description: str
    what_to_bring: str
    space_id: int
    starts_at: str
    ends_at: str
    capacity: int
    rsvp_mode: str
    max_guests: int
    kit_id: int | None
    host_ids: list[int]
    published: bool
    cancelled: bool
    rsvp_deadline: str | None
    promotion: str
    hold_hours: int
    walkin_estimate: int
    sequence: int
    slots: list[SlotOut]
    space: SpaceRef | msgspec.UnsetType = UNSET


def _slots(d: dict) -> dict:
    if "slots" in d:
        d["slots"] = [as_dict(s) for s in d["slots"]]
    return d


class ProgramController(Controller):
    path = "/api/programs"
    tags = ["programmes"]

    @post("/", status_code=201)
    async def create(self, data: ProgramIn, user: User = Dependency(skip_validation=True)) -> ProgramOut:
        return typed(ProgramOut, await program_changes.create_program(as_dict(data), user=user))

    @get("/")
    async def index(self, user: User = Dependency(skip_validation=True)) -> list[ProgramOut]:
        if user is None:
            raise PlannerError("Log in first.", "unauthorized")
        return typed(list[ProgramOut], await programs.list_programs(user=user))

    @get("/{program_id:int}")
    async def show(self, program_id: int, user: User = Dependency(skip_validation=True)) -> ProgramOut:
        return typed(ProgramOut, await programs.get_program(program_id, user=user))

    @delete("/{program_id:int}", status_code=204, summary="Delete a programme and everything in it (organizers)")
    async def remove(self, program_id: int, confirm: str, user: User = Dependency(skip_validation=True)) -> None:
        """`confirm` must be the programme's exact name; refused (409) while an activity still to come has guests."""
        await program_changes.delete_program(program_id, user=user, confirm_name=confirm, now=utcnow())

    @post("/{program_id:int}/spaces", status_code=201)
    async def add_space(self, program_id: int, data: SpaceIn, user: User = Dependency(skip_validation=True)) -> SpaceOut:
        return typed(SpaceOut, await space_changes.add_space(program_id, as_dict(data), user=user))

    @get("/{program_id:int}/spaces")
    async def spaces(self, program_id: int, user: User = Dependency(skip_validation=True)) -> list[SpaceOut]:
        return typed(list[SpaceOut], await sched_spaces.list_spaces(program_id, user=user))

    @post("/{program_id:int}/hosts", status_code=201)
    async def add_host(self, program_id: int, data: HostIn, user: User = Dependency(skip_validation=True)) -> HostOut:
        return typed(HostOut, await sched_hosts.add_host(program_id, as_dict(data), user=user))

    @get("/{program_id:int}/hosts")
    async def hosts(self, program_id: int, user: User = Dependency(skip_validation=True)) -> list[HostOut]:
        return typed(list[HostOut], await sched_hosts.list_hosts(program_id, user=user))

    @post("/{program_id:int}/members", status_code=201)
    async def add_member(self, program_id: int, data: MemberIn, user: User = Dependency(skip_validation=True)) -> MemberOut:
        return typed(MemberOut, await team.add_member(program_id, as_dict(data), user=user, now=utcnow()))

    @get("/{program_id:int}/members")
    async def members(self, program_id: int, user: User = Dependency(skip_validation=True)) -> list[MemberOut]:
        return typed(list[MemberOut], await team.list_members(program_id, user=user))

    @post("/{program_id:int}/activities", status_code=201)
    async def add_activity(self, program_id: int, data: ActivityIn, user: User = Dependency(skip_validation=True)) -> ActivityOut:
        return typed(ActivityOut, await activity_changes.create_activity(program_id, _slots(as_dict(data)), user=user, now=utcnow()))

    @get("/{program_id:int}/activities")
    async def activities(self, program_id: int, user: User = Dependency(skip_validation=True)) -> list[ActivityOut]:
        return typed(list[ActivityOut], await sched_activities.list_activities(program_id, user=user))


class SpaceController(Controller):
    path = "/api"
    tags = ["programmes"]

    @patch("/spaces/{space_id:int}")
    async def update_space(self, space_id: int, data: SpacePatch, user: User = Dependency(skip_validation=True)) -> SpaceOut:
        return typed(SpaceOut, await sched_spaces.update_space(space_id, as_dict(data), user=user))

    @post("/hosts/{host_id:int}/unavailability", status_code=201)
    async def unavailable(self, host_id: int, data: UnavailabilityIn, user: User = Dependency(skip_validation=True)) -> UnavailabilityOut:
        return typed(UnavailabilityOut, await sched_hosts.add_unavailability(host_id, as_dict(data), user=user))


class ActivityController(Controller):
    path = "/api/activities"
    tags = ["activities"]

    @get("/{activity_id:int}")
    async def show(self, activity_id: int, user: User = Dependency(skip_validation=True)) -> ActivityOut:
        return typed(ActivityOut, await sched_activities.get_activity(activity_id, user=user))

    @patch("/{activity_id:int}")
    async def update(self, activity_id: int, data: ActivityPatch, user: User = Dependency(skip_validation=True)) -> ActivityOut:
        return typed(ActivityOut, await activity_changes.update_activity(activity_id, as_dict(data), user=user, now=utcnow()))

    @post("/{activity_id:int}/cancel", status_code=200)
    async def cancel(self, activity_id: int, request: Request, user: User = Dependency(skip_validation=True)) -> ActivityOut:
        body = await request.body()
        data: dict = {}
        if body.strip():
            data = as_dict(msgspec.json.decode(body, type=CancelIn))
        return typed(ActivityOut, await activity_changes.cancel_activity(activity_id, data, user=user, now=utcnow()))

    @delete("/{activity_id:int}", status_code=204)
    async def remove(self, activity_id: int, user: User = Dependency(skip_validation=True)) -> None:
        await activity_changes.delete_activity(activity_id, user=user)
