"""Editing and deleting an item of the programme's stock."""
from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner.errors import PlannerError
from planner.inventory import rules as inventory
from planner.programs import rules as program_rules
from planner.web_common import Form, NoCheck, User, need_login, page


async def _item_ctx(item_id: int, user: User) -> dict:
    usage = await inventory.item_usage(item_id, user=user)
    program = await program_rules.get_program(usage["item"]["program_id"], user=user)
    return {**usage, "program": program}


@get("/items/{item_id:int}/edit", include_in_schema=False)
async def item_edit(request: Request, item_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    ctx = await _item_ctx(item_id, user)
    return page("scheduling/item_edit.html", user, **ctx, form=ctx["item"], error=None)


@post("/items/{item_id:int}/edit", include_in_schema=False, status_code=200)
async def item_update(request: Request, item_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    try:
        it = await inventory.update_item(item_id, {k: data.get(k) for k in ("name", "sku", "unit", "low_stock_at")}, user=user)
    except PlannerError as exc:
        ctx = await _item_ctx(item_id, user)
        return page("scheduling/item_edit.html", user, status_code=exc.status_code, **ctx, form=dict(data), error=exc.message)
    return Redirect(f"/programs/{it['program_id']}/stock", status_code=303)


@post("/items/{item_id:int}/delete", include_in_schema=False, status_code=200)
async def item_delete(request: Request, item_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    ctx = await _item_ctx(item_id, user)
    if data.get("confirmed") != "yes":
        return page("scheduling/item_edit.html", user, **ctx, form=ctx["item"], error=None, confirm_delete=True)
    try:
        await inventory.delete_item(item_id, user=user)
    except PlannerError as exc:
        return page("scheduling/item_edit.html", user, status_code=exc.status_code, **ctx, form=ctx["item"], error=exc.message)
    return Redirect(f"/programs/{ctx['program']['id']}/stock", status_code=303)


HANDLERS = [item_edit, item_update, item_delete]
