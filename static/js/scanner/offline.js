// Keeping the activity's offline pack on the device: loaded from localStorage at once, refreshed from the
// server (with its ETag) when online, and the "ready offline" line that says how many tickets are here.
import { online, request } from "./api.js";
import { Pack, loadPack, storePack } from "./pack.js";
import { packKeyFor, root, state } from "./state.js";
import { showCounts } from "./status.js";
import { $, T, fmt } from "./text.js";

export function showReady() {
  const el = $("ready"), sw = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (state.pack && state.activity && state.pack.activities.has(state.activity.id)) {
    el.textContent = fmt(sw ? T.readyOffline : T.readyPartly, { n: state.pack.ticketCount() });
    el.dataset.ready = sw ? "yes" : "partly";
  } else {
    el.textContent = T.notReady;
    el.dataset.ready = "no";
  }
  root.dataset.offlineReady = el.dataset.ready;
}

export function refreshPack() {
  const key = packKeyFor(state.activity);
  if (!key || !online()) return Promise.resolve();
  const parts = key.split("/");
  const headers = state.pack && state.pack.key === key && state.pack.etag ? { "if-none-match": state.pack.etag } : {};
  return request("/api/scanner/pack?program_id=" + parts[0] + "&day=" + parts[1], { headers }, 20000).then((r) => {
    if (r.status === 304 && state.pack) {
      state.pack.savedAt = Date.now();
      storePack(state.pack);
    } else if (r.ok) {
      const etag = r.headers.get("etag");
      return r.json().then((body) => {
        if (packKeyFor(state.activity) !== key) return;
        state.pack = new Pack({ key, etag, savedAt: Date.now(), body });
        storePack(state.pack);
      });
    }
  }, () => {}).then(() => { showReady(); showCounts(); });
}

export function loadPackFor(a) {
  const key = packKeyFor(a);
  state.pack = key ? loadPack(key) : null;
  showReady();
  return refreshPack();
}
