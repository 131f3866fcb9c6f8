// Finding a guest by name, for one who lost their code: the server's list of the activity's guests
// (GET /api/scanner/search), each with an "Admit" button that checks their code as if it had been scanned.
// With no network, the names in the offline pack are searched instead; the pack holds no codes, so
// admitting by name then needs the network back (or the code under the guest's QR).
import { online, request } from "./api.js";
import { handleCode } from "./scan.js";
import { state, zoneOf } from "./state.js";
import { queue } from "./store.js";
import { $, T, fmt, plural, timeIn } from "./text.js";

const WAIT_MS = 250, MIN_CHARS = 2;
let timer = null, asked = 0;

function say(text) { $("search-msg").textContent = text || ""; $("search-msg").hidden = !text; }

function clear() { $("search-results").textContent = ""; }

function render(results, canAdmit) {
  const list = $("search-results"), tz = zoneOf(state.activity);
  clear();
  results.forEach((g) => {
    const li = document.createElement("li");
    li.className = "found" + (g.checked_in ? " in" : "");
    const who = document.createElement("span"); who.className = "found-name"; who.textContent = g.name;
    const meta = document.createElement("span"); meta.className = "found-meta";
    const parts = [];
    if (g.slot_starts_at) parts.push(timeIn(g.slot_starts_at, tz));
    if (g.status && g.status !== "confirmed") parts.push(T.notConfirmed);
    meta.textContent = parts.join(" · ");
    if (g.code) {
      const code = document.createElement("span"); code.className = "found-code";
      code.textContent = fmt(T.codeIs, { code: g.code });
      meta.appendChild(code);
    }
    const st = document.createElement("span"); st.className = "found-state";
    st.textContent = g.checked_in ? T.checkedIn : T.notCheckedIn;
    const text = document.createElement("span"); text.className = "found-text";
    text.appendChild(who); text.appendChild(meta); text.appendChild(st);
    li.appendChild(text);
    if (canAdmit && g.code && (!g.status || g.status === "confirmed")) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "found-admit" + (g.checked_in ? " secondary" : "");
      b.dataset.code = g.code;
      b.textContent = T.admit;
      b.setAttribute("aria-label", fmt(T.admitName, { name: g.name }));
      li.appendChild(b);
    }
    list.appendChild(li);
  });
}

function searchOffline(q) {
  const a = state.activity;
  if (!state.pack || !state.pack.activities.has(a.id)) { clear(); say(T.searchNeedsNet); return; }
  const found = state.pack.search(a.id, q, queue.all(), Date.now());
  render(found, false);
  say((found.length ? "" : T.searchNone + " ") + T.searchOffline);
}

// Runs the search in the field now; resolves when the list is shown.
export function search() {
  clearTimeout(timer);
  const a = state.activity, q = $("search-q").value.trim(), n = ++asked;
  if (!a || q.length < MIN_CHARS) { clear(); say(q ? T.searchShort : ""); return Promise.resolve(); }
  if (!online()) { searchOffline(q); return Promise.resolve(); }
  say(T.searching);
  return request("/api/scanner/search?activity_id=" + a.id + "&q=" + encodeURIComponent(q)).then((r) => {
    if (n !== asked) return;
    if (r.status === 404 || r.status === 405) { clear(); say(T.searchUnavailable); return; }
    if (!r.ok) return r.json().then((b) => { clear(); say(b.detail || T.error); }, () => { clear(); say(T.error); });
    return r.json().then((body) => {
      if (n !== asked) return;
      const results = body.results || [];
      render(results, true);
      say(results.length ? plural(results.length, T.searchFoundOne, T.searchFoundMany) : T.searchNone);
    });
  }, () => { if (n === asked) searchOffline(q); });
}

// A new activity: an empty search.
export function reset() {
  clearTimeout(timer);
  asked++;
  $("search-q").value = "";
  clear(); say("");
}

export function init() {
  const field = $("search-q");
  field.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, WAIT_MS); });
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("search-results").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-code]");
    if (!b) return;
    handleCode(b.dataset.code, "search").then(() => { search(); if ($("override").hidden) field.focus(); });
  });
}
