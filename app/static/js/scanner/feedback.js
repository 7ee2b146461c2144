// Sound and vibration after each scan, so staff need not look at the phone: two rising beeps
// for success, one low buzz for a refusal. Audio may only start after a user gesture.
let audio = null;

export function unlockAudio() {
  if (audio || !(window.AudioContext || window.webkitAudioContext)) { return; }
  try {
    audio = new (window.AudioContext || window.webkitAudioContext)();
  } catch (error) {
    audio = null;
  }
}

function tone(frequency, start, duration, type) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = type;
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.25, audio.currentTime + start);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + duration);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(audio.currentTime + start);
  oscillator.stop(audio.currentTime + start + duration);
}

export function signal(ok) {
  document.body.dataset.lastSignal = ok ? "ok" : "fail"; // for tests and screen readers' hosts
  if (navigator.vibrate) { navigator.vibrate(ok ? [60] : [180, 80, 180]); }
  if (!audio) { return; }
  if (audio.state === "suspended") { audio.resume(); }
  if (ok) {
    tone(880, 0, 0.09, "sine");
    tone(1320, 0.1, 0.12, "sine");
  } else {
    tone(180, 0, 0.35, "square");
  }
}
