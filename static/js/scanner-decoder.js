// Web Worker for browsers without BarcodeDetector: decodes QR codes with the vendored jsQR,
// so the page's main thread stays free for the camera preview and the result.
/* global jsQR */
importScripts("/static/vendor/jsqr/jsQR.js");

self.onmessage = function (event) {
  var frame = event.data, code = null;
  try {
    var found = jsQR(new Uint8ClampedArray(frame.buffer), frame.width, frame.height, { inversionAttempts: "dontInvert" });
    if (found && found.data) code = found.data;
  } catch (e) {
    code = null;
  }
  self.postMessage({ id: frame.id, code: code });
};
