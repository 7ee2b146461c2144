// Continuous camera scanning: the browser's BarcodeDetector where it has one (Android Chrome),
// else jsQR (npm, served by the app at /vendor/jsqr.js) on frames drawn to a canvas.
const INTERVAL_MS = 150;
const MAX_WIDTH = 800;

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) { return null; }
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch (error) {
    return null;
  }
}

export function createCamera(video, { onText, onStatus }) {
  let stream = null;
  let timer = null;
  let detector = null;
  let paused = false;
  let starting = null;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });

  async function decode() {
    if (detector) {
      const found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    }
    if (!window.jsQR || !video.videoWidth) { return null; }
    const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(image.data, canvas.width, canvas.height, { inversionAttempts: "attemptBoth" });
    return found && found.data ? found.data : null;
  }

  async function tick() {
    if (!stream) { return; }
    if (!paused && video.readyState >= 2) {
      try {
        const text = await decode();
        if (text) { onText(text, "camera"); }
      } catch (error) { /* a frame that fails to decode is just skipped */ }
    }
    timer = window.setTimeout(tick, INTERVAL_MS);
  }

  return {
    get running() { return Boolean(stream); },
    get starting() { return Boolean(starting); },
    start() {
      // One start at a time: a tap on the button while the permission prompt is up must not
      // open a second stream (or, as a toggle, stop the one being opened).
      if (!starting) { starting = open().finally(() => { starting = null; }); }
      return starting;
    },
    stop() {
      window.clearTimeout(timer);
      if (stream) { stream.getTracks().forEach((track) => track.stop()); }
      stream = null;
      video.srcObject = null;
      onStatus("stopped");
    },
    pause(value) { paused = value; },
  };

  async function open() {
    if (stream) { return true; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      onStatus("unavailable");
      return false;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      onStatus(error && error.name === "NotAllowedError" ? "denied" : "unavailable");
      return false;
    }
    video.srcObject = stream;
    video.setAttribute("playsinline", "");
    video.muted = true;
    try { await video.play(); } catch (error) { /* autoplay of a muted stream is allowed */ }
    detector = await nativeDetector();
    onStatus(detector ? "native" : window.jsQR ? "jsqr" : "no_decoder");
    tick();
    return true;
  }
}
