// Sound and vibration for a result, so the door can hear and feel it without looking. Audio starts only
// after a tap (browsers allow it then): call wakeAudio() from every button the staff press.
let audio = null;

export function wakeAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch (e) { audio = null; }
}

function tone(freq, start, length, type) {
  const osc = audio.createOscillator(), gain = audio.createGain();
  osc.type = type || "sine";
  osc.frequency.value = freq;
  const t0 = audio.currentTime + start;
  gain.gain.setValueAtTime(0.0001, t0);
  gain.gain.exponentialRampToValueAtTime(0.3, t0 + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, t0 + length);
  osc.connect(gain); gain.connect(audio.destination);
  osc.start(t0); osc.stop(t0 + length + 0.02);
}

// kind: "good" (admitted), "warn" (already checked in) or "bad" (refused).
export function signal(kind) {
  const pattern = { good: [90], warn: [70, 60, 70], bad: [350] }[kind];
  if (navigator.vibrate) { try { navigator.vibrate(pattern); } catch (e) { /* not allowed here */ } }
  if (!audio || audio.state !== "running") return;
  try {
    if (kind === "good") { tone(880, 0, 0.14); tone(1320, 0.12, 0.16); }
    else if (kind === "warn") { tone(660, 0, 0.12, "triangle"); tone(660, 0.18, 0.12, "triangle"); }
    else { tone(200, 0, 0.45, "square"); }
  } catch (e) { /* sound is a courtesy */ }
}
