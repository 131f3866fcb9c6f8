// "Admit anyway": a ticket for another slot of the activity being scanned is refused, the panel says which
// slot; staff may still let the guest in, with a short reason the server records (override + reason).
import { online } from "./api.js";
import { isOtherSlot, onShow, showIdle } from "./result.js";
import { handleCode } from "./scan.js";
import { $ } from "./text.js";

let offered = null;   // {code, slot_id} of the refused scan

function hide() {
  offered = null;
  $("override").hidden = true;
  $("override-reason").value = "";
}

function follow(res, opts) {
  // Only a verdict of the server can be overruled, and only online (the server records who and why).
  if (!res || !isOtherSlot(res) || opts.offline || !opts.scan || opts.scan.override || !online()) { hide(); return false; }
  offered = { code: opts.scan.code, slot_id: opts.scan.slot_id };
  $("override").hidden = false;
  $("override-reason").value = "";
  // Staff typing (a code or a name) go on typing the reason; a camera scan does not bring up a keyboard.
  if (opts.source && opts.source !== "camera") $("override-reason").focus();
  return true;   // the verdict stays until staff decide
}

export function init() {
  onShow(follow);
  $("override").addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = $("override-reason").value.trim();
    if (!offered) return;
    if (!reason) { $("override-reason").value = ""; $("override-reason").reportValidity(); return; }
    const scan = offered;
    hide();
    handleCode(scan.code, "override", { override: true, reason: reason.slice(0, 200), slot_id: scan.slot_id });
  });
  $("override-cancel").addEventListener("click", () => { hide(); showIdle(); });
}
