"""`planner demo`: a realistic demo programme, built through the same rules the app uses.

Safe to run twice: when a programme with the demo's name exists, nothing is added and the
login details are printed again. Everything is created in one transaction, so a failed run
leaves nothing half-made behind; on PostgreSQL an advisory lock keeps two concurrent runs
from both creating the programme.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from planner import clock, db
from planner.accounts import rules as accounts
from planner.accounts.tables import User
from planner.changes import activities as activity_changes
from planner.changes import programs as program_changes
from planner.changes import spaces as space_changes
from planner.inventory import items as inventory_items
from planner.inventory import moves as inventory_moves
from planner.inventory import places as inventory_places
from planner.programs import team
from planner.programs.tables import Program
from planner.rsvps import answers as rsvp_answers
from planner.rsvps import booking as rsvp_booking
from planner.rsvps import invitations as rsvp_invitations
from planner.rsvps import organizer as rsvp_organizer
from planner.rsvps import replies
from planner.rsvps.tables import Rsvp
from planner.scheduling import hosts as sched_hosts
from planner.settings import get_settings
from planner.tickets.rules import Scan, admit

PROGRAM_NAME = "Riverside Sound Festival 2027"
TIMEZONE = "America/New_York"
ORGANIZER_EMAIL = "organizer@demo.local"
STAFF_EMAIL = "staff@demo.local"
PASSWORD = "wellness-demo"
DAYS = 3
LEAD_DAYS = 30
_PG_LOCK_KEY = 7_406_332_027  # any constant; names the demo's advisory lock


# ---------------------------------------------------------------- the programme, as data

SPACES = {
    "tent": {
        "name": "Wellness tent", "capacity": 40, "counts_presence": True, "turnover_minutes": 15,
        "access_notes": "Backstage, next to the artist catering marquee. Step-free from the artist compound; "
                        "shoes off inside; blankets, mats and earplugs at the door.",
    },
    "quiet": {
        "name": "Quiet room", "capacity": 12,
        "access_notes": "Portakabin behind Stage B, signed “Quiet room”. Ramp at the side door, low light, "
                        "no phones please. A trained peer supporter is always on site.",
    },
    "studio": {
        "name": "Studio B", "capacity": 8,
        "access_notes": "Mobile recording studio in the production village. Two steps up; a portable ramp is "
                        "available on request. Acoustic and electric guitars, keys and a vocal booth provided.",
    },
    "harbor": {
        "name": "Harbor Room at Lucia's", "capacity": 14, "turnover_minutes": 30,
        "address": "Lucia's Trattoria, 27 Front Street, Hudson, NY 12534",
        "access_notes": "Private dining room on the ground floor, step-free from Front Street. A 10-minute walk "
                        "or a shuttle from the artist gate at 18:40.",
    },
}

HOSTS = {
    "maya": {"name": "Dr. Maya Okafor", "email": "maya.okafor@example.org"},  # licensed therapist (LCSW)
    "jonah": {"name": "Jonah Reyes", "email": "jonah.reyes@example.org"},  # yoga and breathwork teacher
    "priya": {"name": "Priya Raman", "email": "priya.raman@example.org"},  # sound practitioner
    "ana": {"name": "Ana Sofía Delgado", "email": "ana.delgado@example.org"},  # licensed massage therapist
    "lucia": {"name": "Lucia Ferraro", "email": "lucia@example.org"},  # chef and owner of Lucia's
    "sam": {"name": "Sam Whitaker", "email": "sam.whitaker@example.org"},  # songwriter, mentor and moderator
}

GUESTS = [
    ("Aaliyah Brooks", "aaliyah.brooks"), ("Marco Bellini", "marco.bellini"), ("Jess Tran", "jess.tran"),
    ("Diego Alvarez", "diego.alvarez"), ("Hannah Lindqvist", "hannah.lindqvist"), ("Kofi Mensah", "kofi.mensah"),
    ("Riley O'Connor", "riley.oconnor"), ("Sofia Marquez", "sofia.marquez"), ("Ben Carter", "ben.carter"),
    ("Noor Haddad", "noor.haddad"), ("Tyler Nguyen", "tyler.nguyen"), ("Emma Schultz", "emma.schultz"),
    ("Luis Fernández", "luis.fernandez"), ("Grace Kim", "grace.kim"), ("Owen Price", "owen.price"),
    ("Camila Rojas", "camila.rojas"), ("Jordan Ellis", "jordan.ellis"), ("Mei Chen", "mei.chen"),
    ("Sipho Dlamini", "sipho.dlamini"), ("Zoe Harper", "zoe.harper"),
]


def guest(i: int) -> dict:
    name, handle = GUESTS[i % len(GUESTS)]
    return {"name": name, "email": f"{handle}@example.com"}


def festival_start(today: date) -> date:
    """The first Friday at least four weeks out: about 30 days from today, always in the future."""
    first = today + timedelta(days=LEAD_DAYS - 2)
    return first + timedelta(days=(4 - first.weekday()) % 7)


def _at(day: date, hhmm: str) -> str:
    """A local time in the programme's zone, as the rules read it (ISO 8601 without an offset)."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(h, m)).isoformat(timespec="minutes")


def day_plan(n: int, day: date) -> list[dict]:
    """The activations of festival day n (0, 1, 2). Times are planned so that nothing clashes:
    the tent keeps its 15-minute turnover, and no host is in two places at once."""
    last = n == DAYS - 1
    tag = f"day{n + 1}"
    acts: list[dict] = [
        {
            "key": f"yoga-{tag}", "space": "tent", "hosts": ["jonah"], "start": "09:00", "end": "09:45",
            "title": "Slow morning yoga", "capacity": 30,
            "description": "Gentle, floor-based yoga for bodies that were on stage (or in a van) until late. "
                           "No experience needed.",
            "what_to_bring": "Comfortable clothes. Mats and blankets are provided.",
        },
        {
            "key": f"breathwork-{tag}", "space": "tent", "hosts": ["jonah"], "start": "10:00", "end": "10:45",
            "title": "Guided breathwork", "capacity": 25,
            "description": "Jonah Reyes guides 40 minutes of breathing practice to settle the nervous system "
                           "before a long festival day.",
        },
        {
            "key": f"massage-{tag}", "space": "tent", "hosts": ["ana"], "start": "11:00", "end": "14:00",
            "title": "20-minute chair massage", "capacity": 1, "slot_minutes": 20, "slot_gap_minutes": 10,
            "description": "Book a 20-minute clothed chair massage with licensed massage therapist Ana Sofía "
                           "Delgado. One person per slot; please arrive five minutes early.",
        },
        {
            "key": f"soundbath-{tag}", "space": "tent", "hosts": ["priya"], "start": "14:30", "end": "15:30",
            "title": "Sound bath", "capacity": 30,
            "description": "Lie down and let gongs, singing bowls and shruti box do the work. "
                           "Earplugs available if you are protecting your hearing.",
            "what_to_bring": "An eye mask if you like one; we have a few.",
        },
        {
            "key": f"preshow-{tag}", "space": "tent", "hosts": ["jonah"], "start": "16:00", "end": "16:45",
            "title": "Pre-show nerves: breath and grounding for performers", "capacity": 20,
            "description": "Practical tools for performance anxiety you can use side-stage in two minutes.",
        },
        {
            "key": f"quiet-am-{tag}", "space": "quiet", "hosts": ["maya"], "start": "12:00", "end": "15:00",
            "title": "Quiet room drop-in (therapist on call)", "capacity": 12, "walkin_estimate": 20,
            "description": "A calm, low-light space away from the noise. Dr. Maya Okafor, a licensed clinical "
                           "social worker, is on call for a private chat. Just walk in; an RSVP only helps us plan.",
        },
        {
            "key": f"circle-{tag}", "space": "quiet", "hosts": ["maya", "ana"] if n == 1 else ["maya"],
            "start": "15:30", "end": "16:45", "capacity": 12,
            "title": "Círculo de apoyo / Peer support circle (bilingual)" if n == 1 else "Peer support circle",
            "description": "A confidential circle for artists, crew and industry to talk about touring, pressure "
                           "and life on the road, facilitated by Dr. Maya Okafor. What is said here stays here."
                           + (" Conversación en español e inglés, con Ana Sofía Delgado." if n == 1 else ""),
        },
        {
            "key": f"quiet-pm-{tag}", "space": "quiet", "hosts": [], "start": "17:00",
            "end": "21:00" if last else "23:00",
            "title": "Quiet room drop-in (evening)", "capacity": 12, "walkin_estimate": 30,
            "description": "The quiet room stays open through the headline sets, with trained peer supporters "
                           "on site. No RSVP needed.",
        },
    ]
    if not last:
        acts += [
            {
                "key": f"vocal-{tag}", "space": "studio", "hosts": ["jonah"], "start": "17:00", "end": "18:00",
                "title": "Vocal health and breath for singers", "capacity": 8,
                "description": "Warm-ups, cool-downs and breath support for voices doing three shows in three days.",
                "what_to_bring": "A water bottle.",
            },
            {
                "key": f"postset-{tag}", "space": "tent", "hosts": ["priya"], "start": "23:00", "end": "23:45",
                "title": "Post-set wind-down sound bath", "capacity": 30,
                "description": "Come down gently after your set: low light, soft sound, herbal tea.",
            },
        ]
    else:
        acts += [
            {
                "key": "closing-circle", "space": "quiet", "hosts": ["maya"], "start": "21:00", "end": "22:00",
                "title": "Closing circle: landing after the festival", "capacity": 12, "published": False,
                "description": "Draft: a short closing circle on coming home after a festival, and where to find "
                               "support afterwards.",
            },
            {
                "key": "crew-brunch", "space": "harbor", "hosts": ["lucia"], "start": "11:00", "end": "13:00",
                "title": "Crew recovery brunch", "capacity": 14, "published": False,
                "description": "Draft: a slow brunch for the production crew on the last day. Menu to be confirmed.",
            },
        ]
    for a in acts:
        a["day"] = day
    return acts


def residency_plan(days: list[date]) -> dict:
    return {
        "key": "residency", "kind": "residency", "rsvp_mode": "apply", "space": "studio", "hosts": ["sam"],
        "day": days[0], "start": "10:00", "end_day": days[-1], "end": "16:00", "capacity": 6,
        "title": "Songwriter studio residency",
        "description": "Three days in Studio B with songwriter and mentor Sam Whitaker: co-writing sessions, "
                       "a demo recorded by the end, and daily check-ins about pace, pressure and rest. "
                       "Six places, by application.",
        "what_to_bring": "A song or idea you are stuck on, and an instrument if you have one with you.",
    }


def dinner_plan(n: int, day: date, title: str, description: str) -> dict:
    return {
        "key": f"dinner-{n}", "kind": "dinner", "rsvp_mode": "invite", "space": "harbor", "hosts": ["lucia", "sam"],
        "day": day, "start": "19:00", "end": "22:00", "capacity": 12, "max_guests": 1, "promotion": "offer",
        "title": title, "description": description,
        "rsvp_deadline": _at(day - timedelta(days=1), "12:00"),
    }


DIETARY_CHOICES = ["No restrictions", "Vegetarian", "Vegan", "Gluten-free", "Dairy-free", "Nut allergy", "Halal"]


# ---------------------------------------------------------------- building it

async def _user(email: str) -> dict | None:
    return await User.select(User.id, User.email, User.is_admin, User.password_hash).where(User.email == email).first()


async def _ensure_user(email: str, *, admin: bool, name: str) -> tuple[dict, str]:
    """The account, created if missing; returns (user, a note on its password)."""
    row = await _user(email)
    if row is None:
        created = await accounts.create_user(email, PASSWORD, admin=admin, name=name)
        return created, PASSWORD
    if admin and not row["is_admin"]:
        await User.update({User.is_admin: True}).where(User.id == row["id"])
        row["is_admin"] = True
    try:
        PasswordHasher().verify(row["password_hash"], PASSWORD)
        note = PASSWORD
    except (VerificationError, InvalidHashError):
        note = "(existing account: its own password was kept)"
    return {"id": row["id"], "email": row["email"], "is_admin": row["is_admin"]}, note


async def _create_activity(program_id: int, plan: dict, *, spaces: dict, hosts: dict, kits: dict, user: dict, now: datetime) -> dict:
    data: dict[str, Any] = {
        "kind": plan.get("kind", "activation"),
        "rsvp_mode": plan.get("rsvp_mode", "open"),
        "title": plan["title"],
        "description": plan.get("description", ""),
        "what_to_bring": plan.get("what_to_bring", ""),
        "space_id": spaces[plan["space"]]["id"],
        "host_ids": [hosts[h]["id"] for h in plan["hosts"]],
        "starts_at": _at(plan["day"], plan["start"]),
        "ends_at": _at(plan.get("end_day", plan["day"]), plan["end"]),
        "capacity": plan["capacity"],
        "published": plan.get("published", True),
    }
    for key in ("max_guests", "promotion", "slot_minutes", "slot_gap_minutes", "walkin_estimate", "rsvp_deadline"):
        if key in plan:
            data[key] = plan[key]
    if plan.get("kit"):
        data["kit_id"] = kits[plan["kit"]]["id"]
    return await activity_changes.create_activity(program_id, data, user=user, now=now)


async def _rsvp(activity: dict, person: dict, *, now: datetime, language: str = "en", **extra: Any) -> dict:
    out, _created = await rsvp_booking.create_rsvp(activity["id"], {**person, **extra}, now=now, language=language)
    return out


# Stock items, and the kits handed out at the door (a bill of materials each).
ITEMS = {
    "earplugs": {"name": "Foam earplugs (pair)", "sku": "EAR-01", "low_stock_at": 50, "receive": 600},
    "mask": {"name": "Eye mask", "sku": "MASK-01", "low_stock_at": 20, "receive": 150},
    "tea": {"name": "Herbal tea sachet", "sku": "TEA-01", "low_stock_at": 40, "receive": 400},
    "journal": {"name": "Pocket journal", "sku": "JRN-01", "low_stock_at": 10, "receive": 60},
}
KITS = {
    "rest": {"name": "Rest kit", "sku": "KIT-REST", "items": {"earplugs": 1, "mask": 1, "tea": 1}, "assemble": 80,
             "shelves": {"tent": 50, "quiet": 15}},
    "writer": {"name": "Writer's kit", "sku": "KIT-WRITE", "items": {"journal": 1, "tea": 2}, "assemble": 20,
               "shelves": {"studio": 12}},
}


async def _stock(pid: int, spaces: dict, user: dict, now: datetime) -> dict:
    """Deliveries into the warehouse, kits assembled there and packed onto the spaces' shelves."""
    items = {}
    for key, spec in ITEMS.items():
        items[key] = await inventory_items.add_item(pid, {k: spec[k] for k in ("name", "sku", "low_stock_at")}, user=user, now=now)
        await inventory_moves.move_stock(pid, {"item_id": items[key]["id"], "quantity": spec["receive"], "kind": "receive",
                                         "reason": "Delivery from the sponsor"}, user=user, now=now)
    kits = {}
    for key, spec in KITS.items():
        kits[key] = await inventory_items.add_kit(pid, {"name": spec["name"], "sku": spec["sku"], "items": [
            {"item_id": items[i]["id"], "quantity": q} for i, q in spec["items"].items()]}, user=user, now=now)
        await inventory_moves.move_stock(pid, {"item_id": kits[key]["id"], "quantity": spec["assemble"], "kind": "assemble"}, user=user, now=now)
        warehouse = await inventory_places.warehouse_id(pid)
        for space, n in spec["shelves"].items():
            shelf = await inventory_places.space_location_id(spaces[space]["id"])
            await inventory_moves.move_stock(pid, {"item_id": kits[key]["id"], "quantity": n, "kind": "transfer",
                                             "location_id": warehouse, "to_location_id": shelf}, user=user, now=now)
    return kits


async def _build(organizer: dict, staff_email: str, now: datetime) -> int:
    tz = TIMEZONE
    today = clock.local(now, tz).date()
    start = festival_start(today)
    days = [start + timedelta(days=i) for i in range(DAYS)]

    program = await program_changes.create_program(
        {
            "name": PROGRAM_NAME, "timezone": tz, "country": "US",
            "starts_on": days[0].isoformat(), "ends_on": days[-1].isoformat(),
            "languages": ["en", "es"], "care_email": "care@demo.local",
            "venue_address": "Riverside Festival Grounds, 1 Riverfront Way, Hudson, NY 12534",
        },
        user=organizer,
    )
    pid = program["id"]
    await team.add_member(pid, {"email": staff_email, "role": "staff"}, user=organizer, now=clock.utcnow())

    spaces = {k: await space_changes.add_space(pid, v, user=organizer) for k, v in SPACES.items()}
    hosts = {k: await sched_hosts.add_host(pid, v, user=organizer) for k, v in HOSTS.items()}

    plans = [p for n, d in enumerate(days) for p in day_plan(n, d)]
    plans.append(residency_plan(days))
    plans.append(dinner_plan(
        1, days[0], "Songwriter dinner: writing through burnout",
        "A long-table dinner for twelve songwriters, cooked by chef Lucia Ferraro, with a conversation "
        "moderated by Sam Whitaker on creative burnout, boundaries and making work you can sustain. "
        "By invitation; one plus-one each.",
    ))
    plans.append(dinner_plan(
        2, days[1], "Songwriter dinner: the sober-curious table",
        "An alcohol-free dinner with zero-proof pairings from Lucia's bar, and an open conversation, moderated "
        "by Sam Whitaker, about touring, drinking culture and choosing your own pace. By invitation; one plus-one each.",
    ))
    plans.sort(key=lambda p: (p["day"], p["start"]))
    kits = await _stock(pid, spaces, organizer, now)
    for plan in plans:
        if plan["key"].startswith(("soundbath", "postset", "quiet-am")):
            plan["kit"] = "rest"
        elif plan["key"] == "residency":
            plan["kit"] = "writer"
    acts = {}
    for plan in plans:
        acts[plan["key"]] = await _create_activity(pid, plan, spaces=spaces, hosts=hosts, kits=kits, user=organizer, now=now)

    # Questions: access needs (sensitive) on the residency and the dinners, dietary needs per dinner guest.
    residency = acts["residency"]
    project_q = await rsvp_answers.add_question(residency["id"], {
        "label": "What are you working on, and what would help you most this week?", "kind": "text", "required": True,
    }, user=organizer)
    await rsvp_answers.add_question(residency["id"], {"label": "Access needs", "kind": "text", "sensitive": True}, user=organizer)
    diet_q = {}
    access_q = {}
    for key in ("dinner-1", "dinner-2"):
        aid = acts[key]["id"]
        diet_q[key] = await rsvp_answers.add_question(aid, {
            "label": "Dietary needs", "kind": "choice", "choices": DIETARY_CHOICES,
            "sensitive": True, "per_guest": True, "required": True,
        }, user=organizer)
        access_q[key] = await rsvp_answers.add_question(aid, {"label": "Access needs", "kind": "text", "sensitive": True}, user=organizer)

    # RSVPs, so the pages look alive.
    g = iter(range(len(GUESTS) * 4))
    for key, count in (("breathwork-day1", 6), ("soundbath-day1", 9), ("circle-day1", 5), ("yoga-day2", 4),
                       ("quiet-am-day1", 3), ("soundbath-day2", 5)):
        for _ in range(count):
            await _rsvp(acts[key], guest(next(g)), now=now)

    massage = acts["massage-day1"]
    for slot in massage["slots"][:4]:
        await _rsvp(massage, guest(next(g)), now=now, slot_id=slot["id"])
    # The first massage slot also has someone waiting; the guest page opens on the first free slot.
    await _rsvp(massage, guest(next(g)), now=now, slot_id=massage["slots"][0]["id"])

    # A Spanish-speaking guest: their page and e-mails are in Spanish.
    await _rsvp(acts["circle-day2"], {"name": "Valentina Ortiz", "email": "valentina.ortiz@example.com"}, now=now, language="es")

    # Full, with a small waitlist: the day-1 vocal session (8 seats, 11 people).
    for i in range(11):
        await _rsvp(acts["vocal-day1"], guest(i), now=now)

    # Applications for the residency; two already approved.
    pitches = [
        "Finishing an EP about my dad's illness; I keep stalling on the last song.",
        "First co-write outside my band. I want to learn to say no in sessions.",
        "Country-soul demos; I'd love help with arrangement and with my stage fright.",
        "Writing in Spanish and English. Looking for a gentler pace than my label's.",
        "Bedroom producer, new to writing with other people.",
    ]
    applications = []
    for i, pitch in enumerate(pitches):
        answers_given = {str(project_q["id"]): pitch}
        applications.append(await _rsvp(residency, guest(12 + i), now=now, answers=answers_given))
    for app in applications[:2]:
        await rsvp_organizer.approve(app["id"], user=organizer, now=now)

    # Invitations to the first dinner; four accepted, two with a plus-one.
    dinner = acts["dinner-1"]
    dq, aq = str(diet_q["dinner-1"]["id"]), str(access_q["dinner-1"]["id"])
    invites = []
    for i in range(7):
        person = guest(5 + i)
        invites.append((person, await rsvp_invitations.invite(dinner["id"], person, user=organizer, now=now)))
    accepted = [
        {"guests": 1, "answers": {dq: "Vegetarian", "plus_ones": [{dq: "No restrictions"}]}},
        {"guests": 0, "answers": {dq: "Gluten-free", aq: "Step-free seat near the door, please."}},
        {"guests": 1, "answers": {dq: "Vegan", "plus_ones": [{dq: "Vegan"}]}},
        {"guests": 0, "answers": {dq: "No restrictions"}},
    ]
    for (person, inv), extra in zip(invites, accepted):
        await _rsvp(dinner, person, now=now, invite_code=inv["invite_code"], **extra)
    # One invitee said no; the organizer sees the answer.
    await replies.decline_invitation(dinner["id"], invites[4][1]["invite_code"], now=now)

    # Check-ins at the tent door on the first morning, each handing out a rest kit from the tent's shelf.
    staff = await _user(staff_email)
    soundbath = acts["soundbath-day1"]
    opens = datetime.fromisoformat(soundbath["starts_at"])
    for i, r in enumerate(await Rsvp.select(Rsvp.ticket_code).where((Rsvp.activity == soundbath["id"]) & (Rsvp.status == "confirmed")).order_by(Rsvp.id).limit(5)):
        await admit(Scan(code=r["ticket_code"], scan_id=f"demo-{soundbath['id']}-{i}", scanned_at=opens + timedelta(minutes=2 + i)),
                    user=staff, device="Tent door (demo)", now=now)
    # And a couple on the second dinner, not answered yet.
    for i in range(2):
        await rsvp_invitations.invite(acts["dinner-2"]["id"], guest(16 + i), user=organizer, now=now)
    return pid


async def load_demo() -> str:
    """Create the demo programme unless it is there already; return how to log in."""
    now = clock.utcnow()
    # One transaction for the whole demo; the rules' own write transactions join it.
    async with db.write_transaction():
        if db.is_postgres():
            await db.raw("SELECT pg_advisory_xact_lock({})", _PG_LOCK_KEY)
        organizer, organizer_pw = await _ensure_user(ORGANIZER_EMAIL, admin=True, name="Demo organizer")
        staff, staff_pw = await _ensure_user(STAFF_EMAIL, admin=False, name="Demo staff")
        existing = await Program.select(Program.id).where(Program.name == PROGRAM_NAME).order_by(Program.id).first()
        if existing:
            program_id, created = existing["id"], False
        else:
            program_id, created = await _build(organizer, staff["email"], now), True
    p = await Program.select(Program.starts_on, Program.ends_on).where(Program.id == program_id).first()
    base = get_settings().base_url
    state = "Loaded the demo programme" if created else "The demo programme is already there"
    return "\n".join([
        f"{state}: {PROGRAM_NAME} ({p['starts_on']:%a %d %b} to {p['ends_on']:%a %d %b %Y}, {TIMEZONE}).",
        f"Open {base}/ (start the app with `planner serve` first) and log in as:",
        f"  organizer (admin): {ORGANIZER_EMAIL}  password: {organizer_pw}",
        f"  staff (check-in):  {STAFF_EMAIL}  password: {staff_pw}",
        f"Public programme page: {base}/p/{program_id}",
    ])
