// Talking to the server: fetch with a time limit, the CSRF token and the device's name on every request,
// and what the last requests said about the connection (network gone, login lost).
import { uuid } from "./store.js";
import { T } from "./text.js";

const DEVICE = "planner.scanner.device";
export const REQUEST_MS = 4000;   // an online scan waits this long before it is judged offline

export const net = { down: false, authLost: false, syncing: false };
const listeners = [];

// fn() runs whenever `net` may have changed.
export function onNetChange(fn) { listeners.push(fn); }
export function netChanged() { listeners.forEach((fn) => fn()); }

export function online() { return navigator.onLine !== false && !net.down; }

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return cookie("csrftoken") || (meta ? meta.content : "");
}

export function deviceName() {
  let v = (localStorage.getItem(DEVICE) || "").trim();
  if (!v) {
    v = T.deviceDefault + " " + uuid().slice(0, 4).toUpperCase();
    localStorage.setItem(DEVICE, v);
  }
  return v;
}

export function setDeviceName(value) {
  const v = String(value || "").trim().slice(0, 60);
  if (v) localStorage.setItem(DEVICE, v);
  return deviceName();
}

// fetch with a time limit; rejects with {network: true} when the network (not the server) failed.
export function request(url, opts, limit) {
  opts = opts || {};
  const ctl = "AbortController" in window ? new AbortController() : null;
  const timer = ctl ? setTimeout(() => ctl.abort(), limit || REQUEST_MS) : null;
  const headers = Object.assign({ accept: "application/json" }, opts.headers || {});
  // A header carries Latin-1 only; the device also goes in every POST body, which carries any name.
  if (/^[\x20-\x7e]*$/.test(deviceName())) headers["x-device"] = deviceName();
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    headers["x-csrftoken"] = csrf();
  }
  return fetch(url, { method: opts.method || "GET", headers, credentials: "same-origin", cache: "no-store",
                      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined, signal: ctl ? ctl.signal : undefined })
    .then((r) => {
      if (timer) clearTimeout(timer);
      net.down = false;
      if (r.status === 401) { net.authLost = true; netChanged(); }
      else if (r.ok && net.authLost) { net.authLost = false; netChanged(); }
      return r;
    }, () => {
      if (timer) clearTimeout(timer);
      net.down = true;
      netChanged();
      throw { network: true };
    });
}

export function errorDetail(r) {
  return r.json().then((b) => b.detail || T.error, () => T.error);
}

// After a failed request, ask the server whether it is reachable again (the browser's "online" event
// only follows the network interface, not a dead access point). Resolves true when it is.
export function probe() {
  if (!net.down || navigator.onLine === false) return Promise.resolve(false);
  return fetch("/health", { cache: "no-store", credentials: "same-origin" }).then((r) => {
    if (!r.ok) return false;
    net.down = false;
    netChanged();
    return true;
  }, () => false);
}
