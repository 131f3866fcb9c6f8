"""Editing and deleting an item of the programme's stock."""
from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner.inventory import items as inventory_items
from planner.programs import rules as program_rules
from planner.web_common import Form, NoCheck, User, delete_after_confirming, need_login, page, save_or_show


async def _item_ctx(item_id: int, user: User) -> dict:
    usage = await inventory_items.item_usage(item_id, user=user)
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
    return await save_or_show(user, "scheduling/item_edit.html", lambda: _item_ctx(item_id, user),
                              lambda: inventory_items.update_item(item_id, {k: data.get(k) for k in ("name", "sku", "unit", "low_stock_at")}, user=user),
                              form=dict(data), done=lambda it: f"/programs/{it['program_id']}/stock")


@post("/items/{item_id:int}/delete", include_in_schema=False, status_code=200)
async def item_delete(request: Request, item_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    ctx = await _item_ctx(item_id, user)
    return await delete_after_confirming(user, "scheduling/item_edit.html", ctx, ctx["item"], data.get("confirmed"),
                                         lambda: inventory_items.delete_item(item_id, user=user), f"/programs/{ctx['program']['id']}/stock")


HANDLERS = [item_edit, item_update, item_delete]
