"""Inventory over HTTP: the JSON API (items, kits, locations, movements, stock, ledger, deliveries,
forecast, CSV exports) and the organizer pages (stock, ledger, forecast). Handlers parse, call one rule, answer."""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template

from planner.clock import utcnow
from planner.errors import PlannerError
from planner.i18n import format_date
from planner.inventory import forecast as inventory_forecast
from planner.inventory import items as inventory_items
from planner.inventory import ledger as inventory_ledger
from planner.inventory import moves as inventory_moves
from planner.inventory import places as inventory_places
from planner.programs.rules import get_program, require_role, role_in
from planner.web_common import NoCheck, Out, User, as_dict, typed

UNSET = msgspec.UNSET


# ---------------------------------------------------------------- JSON structs

class ItemIn(msgspec.Struct):
    name: str
    sku: str | None | msgspec.UnsetType = UNSET
    low_stock_at: int | msgspec.UnsetType = UNSET
    unit: str | None | msgspec.UnsetType = UNSET


class ItemPatch(msgspec.Struct):
    name: str | msgspec.UnsetType = UNSET
    sku: str | None | msgspec.UnsetType = UNSET
    low_stock_at: int | msgspec.UnsetType = UNSET
    unit: str | None | msgspec.UnsetType = UNSET


class KitLineIn(msgspec.Struct):
    item_id: int | str
    quantity: int | msgspec.UnsetType = UNSET


class KitIn(msgspec.Struct):
    name: str
    items: list[KitLineIn]
    sku: str | None | msgspec.UnsetType = UNSET
    low_stock_at: int | msgspec.UnsetType = UNSET
    unit: str | None | msgspec.UnsetType = UNSET


class LocationIn(msgspec.Struct):
    name: str


class MovementIn(msgspec.Struct):
    item_id: int | str
    quantity: int
    kind: str
    reason: str | None | msgspec.UnsetType = UNSET
    location_id: int | str | None | msgspec.UnsetType = UNSET
    to_location_id: int | str | None | msgspec.UnsetType = UNSET
    ref: str | None | msgspec.UnsetType = UNSET


class DeliveryIn(msgspec.Struct):
    csv: str
    location_id: int | str | None | msgspec.UnsetType = UNSET
    ref: str | None | msgspec.UnsetType = UNSET
    reason: str | None | msgspec.UnsetType = UNSET


# ---------------------------------------------------------------- what the API answers

class ItemOut(Out):
    id: int
    program_id: int
    name: str
    sku: str
    unit: str
    low_stock_at: int
    is_kit: bool


class KitLineOut(Out):
    item_id: int
    name: str
    unit: str
    quantity: int


class KitOut(ItemOut):
    items: list[KitLineOut]


class LocationOut(Out):
    id: int
    program_id: int
    name: str
    space_id: int | None
    warehouse: bool


class MovementOut(Out):
    """One ledger line; `on_hand` (what is left there after it) on a movement just written."""
    id: int
    item_id: int
    item: str
    location_id: int
    location: str
    quantity: int
    kind: str
    reason: str
    ref: str
    user_id: int | None
    created_at: str
    user: str | msgspec.UnsetType = UNSET
    on_hand: int | msgspec.UnsetType = UNSET


class MovementsOut(Out):
    """What one request moved: its lines under one ref; `repeated` when the ref was seen before (nothing moved again)."""
    ref: str
    kind: str
    repeated: bool
    movements: list[MovementOut]


class StockPlaceOut(Out):
    location_id: int
    name: str
    on_hand: int


class StockOut(Out):
    """An item or kit with its total on hand (API.md: item_id, name, on_hand, low) and per location."""
    item_id: int
    name: str
    on_hand: int
    low: bool
    sku: str
    unit: str
    is_kit: bool
    low_stock_at: int
    locations: list[StockPlaceOut]


class ForecastActivityOut(Out):
    id: int
    title: str
    confirmed: int
    walk_ins: int
    draft: bool


class ForecastPartOut(Out):
    item_id: int
    name: str
    unit: str
    quantity: int
    warehouse_on_hand: int
    short: int


class ForecastKitOut(Out):
    kit_id: int
    name: str
    unit: str
    confirmed: int
    walk_ins: int
    demand: int
    handed_out: int
    need: int
    on_hand: int
    available: int
    shortfall: int
    from_warehouse: int
    to_assemble: int
    components: list[ForecastPartOut]
    activities: list[ForecastActivityOut]


class ForecastPlaceOut(Out):
    location_id: int | None
    name: str
    space_id: int
    kits: list[ForecastKitOut]
    shortfall: int


class PackLineOut(Out):
    item_id: int
    name: str
    unit: str
    quantity: int
    short: int


class ForecastDayOut(Out):
    date: str
    past: bool
    today: bool
    locations: list[ForecastPlaceOut]
    need: int
    shortfall: int
    from_warehouse: int
    to_assemble: int
    components: list[PackLineOut]


class ForecastProgramOut(Out):
    id: int
    name: str
    timezone: str


class WarehouseOut(Out):
    location_id: int
    name: str


class ForecastOut(Out):
    program: ForecastProgramOut
    today: str
    warehouse: WarehouseOut
    shortfall: int
    days: list[ForecastDayOut]


REPEAT = {200: ResponseSpec(data_container=MovementsOut, description="The same ref again: the first outcome, nothing moved.")}


def _csv(text: str, filename: str) -> Response[str]:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})


# ---------------------------------------------------------------- JSON API

class InventoryController(Controller):
    path = "/api"
    tags = ["inventory"]

    @post("/programs/{program_id:int}/items", status_code=201)
    async def add_item(self, program_id: int, data: ItemIn, user: User = NoCheck) -> ItemOut:
        return typed(ItemOut, await inventory_items.add_item(program_id, as_dict(data), user=user, now=utcnow()))

    @get("/programs/{program_id:int}/items")
    async def items(self, program_id: int, user: User = NoCheck) -> list[ItemOut]:
        return typed(list[ItemOut], await inventory_items.list_items(program_id, user=user))

    @patch("/items/{item_id:int}")
    async def update_item(self, item_id: int, data: ItemPatch, user: User = NoCheck) -> ItemOut:
        return typed(ItemOut, await inventory_items.update_item(item_id, as_dict(data), user=user))

    @post("/programs/{program_id:int}/kits", status_code=201)
    async def add_kit(self, program_id: int, data: KitIn, user: User = NoCheck) -> KitOut:
        body = as_dict(data)
        body["items"] = [as_dict(line) for line in data.items]
        return typed(KitOut, await inventory_items.add_kit(program_id, body, user=user, now=utcnow()))

    @get("/programs/{program_id:int}/kits")
    async def kits(self, program_id: int, user: User = NoCheck) -> list[KitOut]:
        return typed(list[KitOut], await inventory_items.list_kits(program_id, user=user))

    @post("/programs/{program_id:int}/locations", status_code=201)
    async def add_location(self, program_id: int, data: LocationIn, user: User = NoCheck) -> LocationOut:
        return typed(LocationOut, await inventory_places.add_location(program_id, as_dict(data), user=user))

    @get("/programs/{program_id:int}/locations")
    async def locations(self, program_id: int, user: User = NoCheck) -> list[LocationOut]:
        return typed(list[LocationOut], await inventory_places.list_locations(program_id, user=user))

    @post("/programs/{program_id:int}/stock/movements", status_code=201, responses=REPEAT)
    async def move(self, program_id: int, data: MovementIn, user: User = NoCheck) -> Response[MovementsOut]:
        out, created = await inventory_moves.move_stock(program_id, as_dict(data), user=user, now=utcnow())
        return Response(typed(MovementsOut, out), status_code=201 if created else 200)

    @get("/programs/{program_id:int}/stock/movements")
    async def ledger(self, program_id: int, user: User = NoCheck, item_id: int | None = None, location_id: int | None = None,
                     kind: str | None = None, before_id: int | None = None, limit: int = inventory_ledger.LEDGER_PAGE) -> list[MovementOut]:
        return typed(list[MovementOut], await inventory_ledger.ledger(program_id, user=user, item_id=item_id, location_id=location_id,
                                                                   kind=kind, before_id=before_id, limit=limit))

    @get("/programs/{program_id:int}/stock/movements.csv", media_type="text/csv")
    async def ledger_csv(self, program_id: int, user: User = NoCheck) -> Response[str]:
        return _csv(await inventory_ledger.ledger_csv(program_id, user=user), f"programme-{program_id}-stock-ledger.csv")

    @get("/programs/{program_id:int}/stock")
    async def stock(self, program_id: int, user: User = NoCheck) -> list[StockOut]:
        return typed(list[StockOut], await inventory_ledger.stock(program_id, user=user))

    @get("/programs/{program_id:int}/stock.csv", media_type="text/csv")
    async def stock_csv(self, program_id: int, user: User = NoCheck) -> Response[str]:
        return _csv(await inventory_ledger.stock_csv(program_id, user=user), f"programme-{program_id}-stock.csv")

    @post("/programs/{program_id:int}/stock/deliveries", status_code=201, responses=REPEAT)
    async def delivery(self, program_id: int, data: DeliveryIn, user: User = NoCheck) -> Response[MovementsOut]:
        body = as_dict(data)
        out, created = await inventory_moves.import_delivery(
            program_id, data.csv, location_id=body.get("location_id"), ref=body.get("ref"), reason=body.get("reason") or "",
            user=user, now=utcnow(),
        )
        return Response(typed(MovementsOut, out), status_code=201 if created else 200)

    @get("/programs/{program_id:int}/forecast")
    async def forecast(self, program_id: int, user: User = NoCheck) -> ForecastOut:
        return typed(ForecastOut, await inventory_forecast.forecast(program_id, user=user, now=utcnow()))


# ---------------------------------------------------------------- pages

def _page(name: str, user: User, status_code: int = 200, **context: Any) -> Template:
    return Template(name, context={"user": user, **context}, status_code=status_code)


def _need(user: User) -> None:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")


async def _stock_context(program_id: int, user: User) -> dict:
    program = await get_program(program_id, user=user)
    return {
        "program": program,
        "role": await role_in(user["id"], program_id),
        "stock": await inventory_ledger.stock(program_id, user=user),
        "items": await inventory_items.list_items(program_id, user=user),
        "kits": await inventory_items.list_kits(program_id, user=user),
        "locations": await inventory_places.list_locations(program_id, user=user),
    }


MESSAGES = ("item", "kit", "location", "receive", "transfer", "adjust", "assemble", "return", "hand_out", "delivery", "repeated")


@get("/programs/{program_id:int}/stock", include_in_schema=False)
async def stock_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    _need(user)
    ctx = await _stock_context(program_id, user)
    m = request.query_params.get("m")
    return _page("inventory/stock.html", user, **ctx, error=None, problems=[], failed=None, form={},
                 message=m if m in MESSAGES else None)


async def _form(request: Request) -> tuple[dict[str, Any], str]:
    raw = await request.form()
    data: dict[str, Any] = {}
    upload = ""
    for key in raw.keys():
        value = raw.get(key)
        if isinstance(value, UploadFile):
            content = await value.read()
            if content:
                try:
                    upload = content.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise PlannerError("The file must be a CSV saved as UTF-8 text.") from exc
        elif key != "_csrf_token":
            data[key] = value
    return data, upload


@post("/programs/{program_id:int}/stock/{action:str}", include_in_schema=False, status_code=200)
async def stock_action(request: Request, program_id: int, action: str, user: User = NoCheck) -> Template | Redirect:
    """The stock page's forms: item, kit, location, movement, delivery. Errors redisplay the page with the form filled in."""
    _need(user)
    await require_role(user, program_id)  # an unknown or foreign programme is a plain 404, not a form error
    data: dict[str, Any] = {}
    upload = ""
    now = utcnow()
    message = action
    try:
        data, upload = await _form(request)
        if action == "item":
            await inventory_items.add_item(program_id, data, user=user, now=now)
        elif action == "kit":
            lines = []
            for i in range(1, 9):
                item_id, qty = data.get(f"item_{i}"), data.get(f"quantity_{i}")
                if item_id:
                    lines.append({"item_id": item_id, "quantity": qty or 1})
            await inventory_items.add_kit(program_id, {**data, "items": lines}, user=user, now=now)
        elif action == "location":
            await inventory_places.add_location(program_id, data, user=user)
        elif action == "movement":
            _, created = await inventory_moves.move_stock(program_id, data, user=user, now=now)
            message = data.get("kind") if created else "repeated"
        elif action == "delivery":
            _, created = await inventory_moves.import_delivery(
                program_id, upload or data.get("csv") or "", location_id=data.get("location_id") or None,
                ref=data.get("ref") or None, reason=data.get("reason") or "", user=user, now=now,
            )
            message = "delivery" if created else "repeated"
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        ctx = await _stock_context(program_id, user)
        problems = exc.extra.get("problems", []) if isinstance(exc.extra, dict) else []
        return _page("inventory/stock.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                     problems=problems, failed=action, form=data, message=None)
    return Redirect(f"/programs/{program_id}/stock?m={message}", status_code=303)


@get("/programs/{program_id:int}/ledger", include_in_schema=False)
async def ledger_page(request: Request, program_id: int, user: User = NoCheck, item_id: int | None = None,
                      location_id: int | None = None, kind: str | None = None, before_id: int | None = None) -> Template:
    _need(user)
    program = await get_program(program_id, user=user)
    page_size = 100
    rows = await inventory_ledger.ledger(program_id, user=user, item_id=item_id, location_id=location_id, kind=kind or None,
                              before_id=before_id, limit=page_size + 1)
    more = len(rows) > page_size
    rows = rows[:page_size]
    filters = {k: v for k, v in {"item_id": item_id, "location_id": location_id, "kind": kind}.items() if v not in (None, "")}
    older = f"?{urlencode({**filters, 'before_id': rows[-1]['id']})}" if more and rows else None
    items = await inventory_items.list_items(program_id, user=user) + await inventory_items.list_kits(program_id, user=user)
    return _page("inventory/ledger.html", user, program=program, rows=rows, older=older, filters=filters,
                 items=sorted(items, key=lambda i: i["name"].lower()),
                 locations=await inventory_places.list_locations(program_id, user=user), kinds=inventory_moves.API_KINDS,
                 first_page=before_id is None)


@get("/programs/{program_id:int}/forecast", include_in_schema=False)
async def forecast_page(request: Request, program_id: int, user: User = NoCheck, day: str | None = None) -> Template:
    _need(user)
    program = await get_program(program_id, user=user)
    data = await inventory_forecast.forecast(program_id, user=user, now=utcnow())
    try:
        chosen = date.fromisoformat(day).isoformat() if day else None
    except ValueError:
        chosen = None
    for d in data["days"]:
        when = date.fromisoformat(d["date"])
        d["label"], d["short"] = format_date(when, fmt="EEE d MMM y"), format_date(when, fmt="EEE d")
    days = [d for d in data["days"] if chosen is None or d["date"] == chosen]
    return _page("inventory/forecast.html", user, program=program, forecast=data, days=days, chosen=chosen,
                 all_days=data["days"])


def routes() -> list:
    return [InventoryController, stock_page, stock_action, ledger_page, forecast_page]
