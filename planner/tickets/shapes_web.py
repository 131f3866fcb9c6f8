"""What the check-in, scanner and live APIs answer: one response struct per body, so /schema documents
each field (the rules still build dicts; the handlers convert them with `typed`)."""
from __future__ import annotations

from typing import Literal

import msgspec

from planner.web_common import Out

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType


# ---------------------------------------------------------------- a scan's answer (POST /api/checkins, API.md)

class GuestNameOut(Out):
    name: str


class ActivityTitleOut(Out):
    id: int
    title: str


class KitGivenOut(Out):
    """The kit part of an admission: handed out (quantity = the party), or none left on the shelf (message)."""
    name: str | None
    handed_out: bool
    quantity: int
    message: str | Unset = UNSET


class SupersededOut(Out):
    """The later admission an earlier offline scan replaced."""
    device: str | None
    checked_in_at: str


class ScanOut(Out):
    """One scan's outcome (API.md): `result` always; a refusal has `message` (and `reason`: other_slot, over,
    cancelled); an admission has `party`, `checked_in_at`, `slot_id` and, for a ticket with a kit, `kit`."""
    result: Literal["admitted", "already_checked_in", "invalid", "wrong_activity", "not_open", "error"]
    message: str | None | Unset = UNSET
    reason: str | Unset = UNSET
    guest: GuestNameOut | Unset = UNSET
    activity: ActivityTitleOut | Unset = UNSET
    program_id: int | Unset = UNSET
    slot_id: int | None | Unset = UNSET
    ticket_slot: int | Unset = UNSET
    ticket_slot_starts: str | Unset = UNSET
    party: int | Unset = UNSET
    checked_in_at: str | Unset = UNSET
    kit: KitGivenOut | Unset = UNSET
    override: bool | Unset = UNSET
    override_reason: str | Unset = UNSET
    admitted_to_slot_id: int | Unset = UNSET
    replay: bool | Unset = UNSET
    superseded: SupersededOut | None | Unset = UNSET
    device: str | Unset = UNSET
    scan_id: str | None | Unset = UNSET  # offline batches: the scan this result answers


class BatchOut(Out):
    results: list[ScanOut]


# ---------------------------------------------------------------- walk-ins and people inside

class WalkinOut(Out):
    """A walk-in party seated and checked in (`replay` when the same scan_id was sent again)."""
    result: Literal["admitted"]
    guest: GuestNameOut
    party: int
    rsvp_id: int
    checked_in_at: str
    activity: ActivityTitleOut
    slot_id: int
    left: int
    program_id: int | Unset = UNSET
    replay: bool | Unset = UNSET
    kit: KitGivenOut | Unset = UNSET


class SpaceStateOut(Out):
    space_id: int
    name: str
    inside: int
    capacity: int
    warning: bool
    full: bool


class PresenceOut(Out):
    """A space's count of people inside; after a tap, whether it `changed` and which `direction` counted."""
    space_id: int
    name: str
    inside: int
    capacity: int
    warning: bool
    full: bool
    program_id: int
    counts_presence: bool | Unset = UNSET
    changed: bool | Unset = UNSET
    replay: bool | Unset = UNSET
    direction: str | Unset = UNSET


# ---------------------------------------------------------------- the live dashboard

class ProgramNameOut(Out):
    id: int
    name: str
    timezone: str


class LiveSlotOut(Out):
    id: int
    starts_at: str
    ends_at: str
    capacity: int
    checked_in: int
    expected: int
    no_shows: int | None
    waitlist: int
    kits: int
    ended: bool


class LiveActivityOut(Out):
    id: int
    title: str
    kind: str
    space: str
    cancelled: bool
    starts_at: str
    ends_at: str
    capacity: int
    checked_in: int
    expected: int
    no_shows: int | None
    waitlist: int
    kits: int
    slots: list[LiveSlotOut]


class LiveTotalsOut(Out):
    checked_in: int
    expected: int
    waitlist: int
    kits: int
    no_shows: int | None


class LiveOut(Out):
    """People checked in and expected on one day, per activity and slot; `no_shows` is null until a slot has ended."""
    program: ProgramNameOut
    day: str
    days: list[str]
    generated_at: str
    totals: LiveTotalsOut
    activities: list[LiveActivityOut]
    spaces: list[SpaceStateOut]


# ---------------------------------------------------------------- the scanner

class NamedRefOut(Out):
    id: int
    name: str


class ScanSlotOut(Out):
    id: int
    starts_at: str
    ends_at: str
    capacity: int
    checked_in: int | Unset = UNSET
    expected: int | Unset = UNSET


class ScanActivityOut(Out):
    id: int
    program_id: int
    title: str
    kind: str
    space: NamedRefOut
    starts_at: str
    ends_at: str
    cancelled: bool
    kit: NamedRefOut | None
    slots: list[ScanSlotOut]
    checked_in: int | Unset = UNSET
    expected: int | Unset = UNSET


class ScanProgramOut(Out):
    id: int
    name: str
    timezone: str
    role: str
    day: str
    starts_on: str
    ends_on: str


class ScanSpaceOut(Out):
    id: int
    name: str
    program_id: int


class ScannableOut(Out):
    """The activities this user may scan on a day, with slots and counts, their spaces and programmes."""
    generated_at: str
    programs: list[ScanProgramOut]
    spaces: list[ScanSpaceOut]
    activities: list[ScanActivityOut]


class SlotCountOut(Out):
    id: int
    checked_in: int
    expected: int


class ScanStatusOut(Out):
    activity_id: int
    generated_at: str
    checked_in: int
    expected: int
    slots: list[SlotCountOut]


class PackHashOut(Out):
    algorithm: str
    bytes: int
    encoding: str


class PackOut(Out):
    """The offline pack (planner.tickets.pack): tickets as [hash, short name, party, slot_id] and check-ins as
    [ticket index, slot_id, checked in at (Unix seconds), device]."""
    version: int
    generated_at: str
    hash: PackHashOut
    grace_minutes: int
    programs: list[ProgramNameOut]
    activities: list[ScanActivityOut]
    fields: list[str]
    tickets: list[tuple[str, str, int, int]]
    checkins: list[tuple[int, int, int, str]]
    day: str | Unset = UNSET


class GuestFoundOut(Out):
    rsvp_id: int
    name: str
    code: str
    slot_starts_at: str
    status: str
    checked_in: bool


class GuestSearchOut(Out):
    results: list[GuestFoundOut]
