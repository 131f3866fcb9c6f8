// The camera and the QR decoder: the browser's BarcodeDetector where it has one, else the vendored jsQR in a
// Web Worker (scanner-decoder.js), fed a scaled frame every FRAME_MS. Every code seen goes to onCode(code).
import { root } from "./state.js";
import { $, T } from "./text.js";

const FRAME_MS = 120, MAX_FRAME_WIDTH = 720;
const cam = { stream: null, detector: null, worker: null, canvas: null, ctx: null, timer: null, pending: false, frameId: 0,
              on: false, resume: false, onCode: () => {} };

export function isOn() { return cam.on; }

function message(text) { $("camera-msg").textContent = text || ""; $("camera-msg").hidden = !text; }

function setButton() { $("camera-toggle").textContent = cam.on ? T.cameraStop : T.cameraStart; }

function makeDecoder() {
  if (cam.detector || cam.worker) return Promise.resolve();
  const useWorker = () => {
    cam.worker = new Worker("/static/js/scanner-decoder.js");
    cam.worker.onmessage = (e) => { cam.pending = false; if (e.data.code) cam.onCode(e.data.code); };
    cam.worker.onerror = () => { cam.pending = false; };
    root.dataset.decoder = "jsqr";
  };
  if (!("BarcodeDetector" in window)) { useWorker(); return Promise.resolve(); }
  return window.BarcodeDetector.getSupportedFormats().then((formats) => {
    if (formats.indexOf("qr_code") === -1) return useWorker();
    cam.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    root.dataset.decoder = "native";
  }, useWorker);
}

function tick() {
  if (!cam.on) return;
  cam.timer = setTimeout(tick, FRAME_MS);
  const video = $("video");
  if (cam.pending || video.readyState < 2 || !video.videoWidth || document.hidden) return;
  if (cam.detector) {
    cam.pending = true;
    cam.detector.detect(video).then((codes) => {
      cam.pending = false;
      if (codes.length && codes[0].rawValue) cam.onCode(codes[0].rawValue);
    }, () => { cam.pending = false; });
    return;
  }
  const scale = Math.min(1, MAX_FRAME_WIDTH / video.videoWidth);
  const w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
  if (!cam.canvas) { cam.canvas = document.createElement("canvas"); cam.ctx = cam.canvas.getContext("2d", { willReadFrequently: true }); }
  if (cam.canvas.width !== w) { cam.canvas.width = w; cam.canvas.height = h; }
  cam.ctx.drawImage(video, 0, 0, w, h);
  const img = cam.ctx.getImageData(0, 0, w, h);
  cam.pending = true;
  cam.worker.postMessage({ id: ++cam.frameId, width: w, height: h, buffer: img.data.buffer }, [img.data.buffer]);
}

export function onCode(fn) { cam.onCode = fn; }

export function startCamera() {
  if (cam.on) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { message(T.cameraNone); setButton(); return; }
  cam.on = true;
  setButton();
  message(T.cameraStarting);
  const video = $("video");
  navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } })
    .then((stream) => {
      if (!cam.on) { stream.getTracks().forEach((t) => t.stop()); return; }
      cam.stream = stream;
      video.srcObject = stream;
      return video.play().then(makeDecoder).then(() => { message(""); root.dataset.camera = "on"; tick(); });
    })
    .catch((e) => {
      if (!cam.on) { message(""); return; }   // stopped by staff while starting: nothing went wrong
      cam.on = false; setButton();
      message(e && (e.name === "NotAllowedError" || e.name === "SecurityError") ? T.cameraBlocked : T.cameraNone);
    });
}

export function stopCamera() {
  cam.on = false;
  clearTimeout(cam.timer);
  if (cam.stream) cam.stream.getTracks().forEach((t) => t.stop());
  cam.stream = null;
  cam.pending = false;
  $("video").srcObject = null;
  root.dataset.camera = "off";
  setButton();
}

// A hidden page lets the camera go; it comes back when the page is shown again (if still scanning).
export function pauseWhileHidden() {
  if (document.hidden) { if (cam.on) { stopCamera(); cam.resume = true; } }
  else if (cam.resume && root.dataset.state === "run") { cam.resume = false; startCamera(); }
}
