// The staff scanner (/scan): pick an activity (or follow what is on in a space), scan tickets with the camera,
// by typing, or by finding the guest's name, and show one big result per scan. Online the server judges each
// scan; with no network the page judges from the offline pack, queues the scan, and syncs when it is back.
// This module only wires the others together and sets the timers.
import { deviceName, net, onNetChange, online, probe, setDeviceName } from "./api.js";
import * as camera from "./camera.js";
import { wakeAudio } from "./feedback.js";
import { refreshPack, showReady } from "./offline.js";
import * as override from "./override.js";
import { showIdle } from "./result.js";
import { forgetLastCode, handleCode } from "./scan.js";
import * as search from "./search.js";
import { backToSetup, chooseActivity, refreshActivities, renderList, startRun } from "./setup.js";
import { activitiesData, chosenSlot, findActivity, root, saveSelection, saveSpace, savedSelection, setData, state } from "./state.js";
import { refreshStatus, showCounts, showNet } from "./status.js";
import { clearConflicts, renderConflicts, sync } from "./sync.js";
import { $ } from "./text.js";

const SYNC_EVERY = 10000, STATUS_EVERY = 15000, PACK_EVERY = 60000, ACTIVITIES_EVERY = 120000, FOLLOW_EVERY = 30000;

function backOnline() { net.down = false; showNet(); sync(); refreshPack(); refreshStatus(); }

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/scan-sw.js", { scope: "/scan" }).then(() => navigator.serviceWorker.ready)
    .then(showReady, showReady);
  navigator.serviceWorker.addEventListener("controllerchange", showReady);
}

function wire() {
  const device = $("device-name");
  device.value = deviceName();
  device.addEventListener("change", () => { device.value = setDeviceName(device.value); });
  $("activity-list").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-activity]");
    if (b) startRun({ mode: "activity", activity_id: parseInt(b.dataset.activity, 10), slot_id: null });
  });
  $("follow-space").addEventListener("click", () => {
    const id = parseInt($("space-pick").value, 10);
    if (!id) return;
    saveSpace(id);
    startRun({ mode: "space", space_id: id });
  });
  $("change").addEventListener("click", backToSetup);
  $("slot-pick").addEventListener("change", () => {
    if (state.selection && state.selection.mode === "activity") {
      state.selection.slot_id = chosenSlot();
      saveSelection(state.selection);
    }
    showCounts();
  });
  $("camera-toggle").addEventListener("click", () => { wakeAudio(); if (camera.isOn()) camera.stopCamera(); else camera.startCamera(); });
  $("rescan").addEventListener("click", () => { wakeAudio(); forgetLastCode(); showIdle(); });
  $("manual").addEventListener("submit", (e) => {
    e.preventDefault();
    wakeAudio();
    const input = $("manual-code"), code = input.value;
    input.value = "";
    handleCode(code, "manual").then(() => { if ($("override").hidden) input.focus(); });
  });
  $("search").addEventListener("click", wakeAudio);
  $("override").addEventListener("click", wakeAudio);
  $("conflicts-clear").addEventListener("click", clearConflicts);
  camera.onCode((code) => handleCode(code, "camera"));
  search.init();
  override.init();
  onNetChange(showNet);
  window.addEventListener("online", backOnline);
  window.addEventListener("offline", () => { showNet(); showCounts(); });
  document.addEventListener("visibilitychange", camera.pauseWhileHidden);
}

function timers() {
  setInterval(() => {
    if (net.down) probe().then((back) => { if (back) backOnline(); });
    else sync();
  }, SYNC_EVERY);
  setInterval(() => {
    if (navigator.onLine === false) return;
    if (!state.activity) refreshActivities(); else refreshStatus();
  }, STATUS_EVERY);
  setInterval(refreshPack, PACK_EVERY);
  setInterval(() => { refreshActivities(); }, ACTIVITIES_EVERY);
  setInterval(() => { if (state.selection && state.selection.mode === "space") chooseActivity(); }, FOLLOW_EVERY);
}

function init() {
  setData(activitiesData() || { programs: [], spaces: [], activities: [], generated_at: "" });
  wire();
  timers();
  renderList();
  renderConflicts();
  registerWorker();
  // Go back to what this device was scanning, even offline and even if the page is an older copy: the
  // selection carries its activity and the key of its pack.
  const saved = savedSelection();
  if (saved) state.selection = saved;
  if (saved && (saved.mode === "space" || findActivity(saved.activity_id))) startRun(saved);
  else state.selection = null;
  showNet();
  if (online()) sync();
  refreshActivities();
  root.dataset.js = "ready";
}

if (root) init();
