// Choosing what to scan: the list of activities (or a space to follow), the running view's title and slot
// list, and switching between the two.
import { online, request } from "./api.js";
import { startCamera, stopCamera } from "./camera.js";
import { wakeAudio } from "./feedback.js";
import { loadPackFor } from "./offline.js";
import { showIdle } from "./result.js";
import * as search from "./search.js";
import { day, findActivity, root, runningIn, saveSelection, savedSpace, setData, state, whenText, zoneOf } from "./state.js";
import { refreshStatus, showCounts, showNet } from "./status.js";
import { $, T, fmt, timeIn } from "./text.js";

export function renderList() {
  const list = $("activity-list"), data = state.data || { activities: [], spaces: [] };
  list.textContent = "";
  data.activities.forEach((a) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "activity-pick" + (a.cancelled ? " cancelled" : "");
    b.dataset.activity = a.id;
    const title = document.createElement("span"); title.className = "pick-title"; title.textContent = a.title;
    const meta = document.createElement("span"); meta.className = "pick-meta";
    meta.textContent = whenText(a) + " · " + a.space.name + (a.cancelled ? " · " + T.cancelledShort : "");
    const count = document.createElement("span"); count.className = "pick-count";
    count.textContent = fmt(T.countShort, { n: a.checked_in, of: a.expected });
    b.appendChild(title); b.appendChild(meta); b.appendChild(count);
    li.appendChild(b);
    list.appendChild(li);
  });
  $("no-activities").hidden = data.activities.length > 0;
  const pick = $("space-pick"), chosen = pick.value || savedSpace();
  pick.textContent = "";
  data.spaces.forEach((s) => {
    const o = document.createElement("option"); o.value = s.id; o.textContent = s.name; pick.appendChild(o);
  });
  if (chosen && data.spaces.some((s) => String(s.id) === String(chosen))) pick.value = chosen;
  $("follow").hidden = data.spaces.length === 0;
}

function renderRun() {
  const a = state.activity, sel = state.selection || {};
  const space = sel.mode === "space" && state.data ? state.data.spaces.filter((s) => s.id === sel.space_id)[0] : null;
  $("run-activity").textContent = a ? a.title : fmt(T.nothingNow, { space: space ? space.name : "" });
  $("run-when").textContent = a ? whenText(a) + " · " + a.space.name : "";
  $("run-follow").hidden = !space;
  $("run-follow").textContent = space ? fmt(T.following, { space: space.name }) : "";
  const pick = $("slot-pick");
  if (a && a.slots.length > 1 && a.kind !== "residency") {
    const keep = sel.slot_id || "";
    pick.textContent = "";
    const all = document.createElement("option"); all.value = ""; all.textContent = T.allSlots; pick.appendChild(all);
    a.slots.forEach((s) => {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = timeIn(s.starts_at, zoneOf(a)) + "–" + timeIn(s.ends_at, zoneOf(a));
      pick.appendChild(o);
    });
    pick.value = String(keep);
    $("slot-row").hidden = false;
  } else {
    $("slot-row").hidden = true;
  }
  $("manual-code").disabled = !a;
  $("manual-submit").disabled = !a;
  $("search-q").disabled = !a;
  $("search-submit").disabled = !a;
  showCounts();
  showNet();
}

// Point the scanner at the selection's activity (for a space: what is on there now).
export function chooseActivity(announce) {
  const sel = state.selection;
  if (!sel) return;
  const activity = sel.mode === "space" ? runningIn(sel.space_id, Date.now()) : findActivity(sel.activity_id);
  const changed = !state.activity || !activity || state.activity.id !== activity.id;
  state.activity = activity;
  renderRun();
  if (changed) {
    state.status = null;
    search.reset();
    loadPackFor(activity);
    refreshStatus();
    if (announce !== false && activity && sel.mode === "space") showIdle();
  }
}

export function startRun(sel) {
  wakeAudio();
  saveSelection(sel);
  state.activity = null;
  root.dataset.state = "run";
  $("setup").hidden = true;
  $("run").hidden = false;
  chooseActivity();
  showIdle();
  startCamera();
  window.scrollTo(0, 0);
}

export function backToSetup() {
  stopCamera();
  saveSelection(null);
  state.activity = null;
  root.dataset.state = "setup";
  $("run").hidden = true;
  $("setup").hidden = false;
  renderList();
}

export function refreshActivities() {
  if (!online()) return Promise.resolve();
  const q = day() ? "?day=" + encodeURIComponent(day()) : "";
  return request("/api/scanner/activities" + q).then((r) => {
    if (!r.ok) return;
    return r.json().then((data) => {
      setData(data);
      if (root.dataset.state === "setup") renderList();
      else chooseActivity(false);
    });
  }, () => {});
}
