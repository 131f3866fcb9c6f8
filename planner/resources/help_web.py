"""The public help hub: /help, /help/{country}, its service worker, and GET /api/help (API.md)."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from babel import Locale
from litestar import Request, Response, get

from planner.errors import PlannerError
from planner.i18n import _l, translations
from planner.paths import asset_dir
from planner.phones import first_number, phone_numbers
from planner.resources import hub, rules
from planner.resources.public_list import KIND_LABELS, attribution
from planner.templating import current_language
from planner.web_common import Out, typed


class HelpEntryOut(Out):
    """One line of help (API.md): `reviewed` is false for the public list's entries, `source` says where it comes from."""
    name: str
    kind: str
    phone: str | None
    sms: str | None
    url: str | None
    hours: str | None
    languages: list[str]
    reviewed: bool
    description: str
    note: str | None
    source: str


class HelpOut(Out):
    country: str
    resources: list[HelpEntryOut]


# Ids the databases can hold (PostgreSQL integer); anything else is simply no programme.
_MAX_ID = 2**31 - 1


def _accept(header: str | None) -> list[str]:
    """Accept-Language's tags, best first."""
    tags = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            tags.append((-weight, i, tag.strip().replace("-", "_")))
    return [t for _, _, t in sorted(tags)]


def hub_language(request: Request) -> str:
    """The page's language among the hub's five: a choice already made for the request wins, then ?lang=,
    then Accept-Language (Babel's negotiation). Country names come from Babel even before a catalogue exists."""
    chosen = current_language.get()
    if chosen != "en" and chosen in hub.LANGUAGES:
        return chosen
    asked = (request.query_params.get("lang") or "").lower()[:2]
    if asked in hub.LANGUAGES:
        lang = asked
    else:
        found = Locale.negotiate(_accept(request.headers.get("accept-language")), list(hub.LANGUAGES))
        lang = found.language if found else "en"
    current_language.set(lang)
    return lang


def _program_id(request: Request) -> int | None:
    raw = request.query_params.get("program") or ""
    return int(raw) if raw.isdecimal() and 0 < int(raw) <= _MAX_ID else None


def _display(e: dict, lang: str) -> dict:
    """One entry ready for the page: names and labels in the page's language, the digits for tel: links."""
    t = translations(lang).gettext
    names = Locale.parse(lang).languages
    url = e.get("url") or ""
    return {
        **e,
        "name": t(e["name"]) if e["name"] else "",
        "kind_label": t(KIND_LABELS.get(e["kind"], KIND_LABELS["other"])),
        "tel": hub.tel(e.get("phone")),
        "numbers": [(n, hub.tel(n)) for n in phone_numbers(e.get("phone"))],
        "first_number": first_number(e.get("phone")),
        "url_label": url.replace("https://", "").replace("http://", "").replace("mailto:", "").rstrip("/"),
        "note": t(e["note"]) if e.get("note") else None,
        "description": t(e["description"]) if e.get("description") else "",
        "hours": t(e["hours"]) if e.get("hours") else e.get("hours"),
        "language_names": [names.get(x.split("-")[0], x) for x in e.get("languages") or []],
    }


async def _programme_context(program_id: int | None, lang: str) -> dict | None:
    if program_id is None:
        return None
    try:
        data = await rules.help_entries(program_id)
    except PlannerError:
        return None
    p = data["program"]
    return {"id": p["id"], "name": p["name"], "country": p["country"], "country_name": hub.country_name(p["country"], lang),
            "entries": [_display(e, lang) for e in data["entries"]], "review": data["review"]}


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render a help page, gzipped when the browser takes it: the pages must load on a bad connection."""
    html = request.app.template_engine.get_template(template).render(request=request, csrf_input="", user=None, **context)
    body = html.encode()
    headers = {"Vary": "Accept-Encoding, Accept-Language", "Cache-Control": "no-cache"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return Response(body, status_code=status_code, media_type="text/html; charset=utf-8", headers=headers)


@get("/help", include_in_schema=False)
async def help_index(request: Request) -> Response:
    lang = hub_language(request)
    q = (request.query_params.get("q") or "")[:100]
    program = await _programme_context(_program_id(request), lang)
    results = [{"code": c, "name": hub.country_name(c, lang), "emergency": hub.emergency_number(c)} for c in hub.search(q, lang)] if q else None
    return _page(request, "help/index.html", q=q, results=results, program=program,
                 countries=hub.countries(lang), attribution=attribution(), tel=hub.tel,
                 suffix=f"?program={program['id']}" if program else "")


@get("/help/{country:str}", include_in_schema=False)
async def help_country(request: Request, country: str) -> Response:
    lang = hub_language(request)
    code = hub.normalise_code(country)
    if code is None:
        raise PlannerError(translations(lang).gettext("There is no country with that code."), "not_found")
    program = await _programme_context(_program_id(request), lang)
    if program and program["country"] == code:
        entries = program["entries"]
    else:
        entries = [_display(e, lang) for e in hub.entries_for(code)]
    kind = request.query_params.get("kind") or ""
    language = (request.query_params.get("language") or "")[:3].lower()
    always_open = request.query_params.get("open") == "1"
    shown = hub.filtered(entries, always_open=always_open, kind=kind if kind in hub.KINDS else None, language=language or None)
    t = translations(lang).gettext
    kinds = [(k, t(KIND_LABELS[k])) for k in hub.KINDS if any(e["kind"] == k for e in entries)]
    spoken = sorted({x for e in entries for x in (e.get("languages") or [])})
    names = Locale.parse(lang).languages
    return _page(request, "help/country.html", code=code, name=hub.country_name(code, lang), entries=shown,
                 emergency=[e for e in shown if e["kind"] == "emergency" and e.get("phone")],
                 crisis=next((e for e in shown if e["kind"] == "crisis_line" and e.get("phone")), None),
                 program=program if program and program["country"] == code else None,
                 other_program=program if program and program["country"] != code else None,
                 kinds=kinds, spoken=[(x, names.get(x, x)) for x in spoken], kind=kind, language=language,
                 always_open=always_open, filtered=len(shown) < len(entries),
                 has_public=any(e["source"] == "public_list" for e in entries), attribution=attribution(),
                 suffix=f"?program={program['id']}" if program else "")


@get("/help/sw.js", include_in_schema=False)
async def help_worker() -> Response:
    """The service worker that keeps visited help pages for offline use; served here so its scope can be /help."""
    body = (asset_dir("static") / "js" / "help-sw.js").read_bytes()
    return Response(body, media_type="text/javascript; charset=utf-8",
                    headers={"Service-Worker-Allowed": "/help", "Cache-Control": "no-cache"})


@get("/help/licence", include_in_schema=False)
async def help_licence() -> Response:
    """The public list's attribution and its CC BY-SA 4.0 licence text, apart from the code's licence."""
    here = Path(__file__).resolve().parent
    text = (here / "EMERGENCY_NUMBERS.md").read_text(encoding="utf-8") + "\n\n" + \
        (here / "emergency_numbers.LICENSE.txt").read_text(encoding="utf-8")
    return Response(text, media_type="text/plain; charset=utf-8")


@get("/api/help", tags=["resources"])
async def help_api(country: str | None = None) -> HelpOut:
    """Every country's emergency number, its crisis line and support services (API.md). 404 for a code that is not a country."""
    code = hub.normalise_code(country)
    if not country:
        raise PlannerError("Give a country code, for example ?country=US.")
    if code is None:
        raise PlannerError(_l("“{code}” is not a country code (ISO 3166-1, for example US or GB).", code=country[:10]), "not_found")
    return typed(HelpOut, {"country": code, "resources": [hub.api_entry(e) for e in hub.entries_for(code)]})


def routes() -> list:
    return [help_index, help_worker, help_licence, help_country, help_api]
