// The pickup scanner: camera, keyboard-wedge scanner or typed code → big preview → one-tap
// hand-over; continuous scanning for a queue; with no network it checks codes locally and
// queues hand-overs, then syncs them and shows what the server settled.
import { call, NetworkError } from "./api.js";
import { createCamera } from "./camera.js";
import { signal, unlockAudio } from "./feedback.js";
import { lookup, OfflineError } from "./offline.js";
import { deviceId, entryLock, history, manifests, queue, randomHex } from "./store.js";
import { fmt, renderQueue, showIdle, showOutcome, showPreview } from "./view.js";

const root = document.querySelector("[data-scanner]");
const config = JSON.parse(root.dataset.config);
const t = config.strings;
const device = deviceId();
const panel = root.querySelector("[data-result]");
const queueSection = root.querySelector("[data-queue]");
const pointSelect = root.querySelector("[data-point]");
const CAMERA_REPEAT_MS = 2500;
const MANIFEST_EVERY_MS = 60000;
const SYNC_EVERY_MS = 20000;

let pointId = Number(pointSelect.value);
let preview = null; // { text, online, data }
let busy = false;
// One scan from a wedge or the keyboard that arrived while a lookup or hand-over was in
// flight: a busy counter scans the next bag at once, and a dropped scan would be lost (the
// camera needs no buffer, it sees the label again on the next frame).
let waiting = null;
let last = { text: "", at: 0 };

const online = () => navigator.onLine !== false;
const manifest = () => manifests.get(pointId);

function setNet() {
  const badge = root.querySelector("[data-net]");
  // Offline, say what waits to sync only when something does.
  const queued = queue.all().length;
  badge.textContent = online() ? t.online : queued ? fmt(t.offline_queued, { n: queued }) : t.offline;
  badge.dataset.net = online() ? "online" : "offline";
  root.classList.toggle("is-offline", !online());
}

function describeManifest() {
  const m = manifest();
  const info = root.querySelector("[data-manifest-info]");
  if (!m) { info.textContent = t.manifest_missing; return; }
  const waiting = m.orders.filter((o) => o.status === "waiting").length;
  const stale = Date.parse(m.valid_until) < Date.now();
  info.textContent = fmt(stale ? t.manifest_stale : t.manifest_info,
    { n: waiting, time: new Date(m.fetched_at).toLocaleTimeString() });
}

function drawQueue() {
  renderQueue(queueSection, t, queue.all().filter((q) => q.point_id === pointId), history.all());
  setNet();
}

function fail(title, detail) {
  preview = null;
  showOutcome(panel, t, { ok: false, title, detail });
  signal(false);
}

function refusal(error) {
  const body = error || {};
  if (body.code === "already_redeemed") { return fail(t.already, body.message); }
  if (body.code === "code_entry_locked") { return fail(t.locked, body.message); }
  if (body.code === "bad_signature") { return fail(t.bad_signature); }
  if (body.code === "not_arrived") { return fail(t.not_arrived, body.message); }
  if (body.code === "invalid_code") { return fail(t.invalid); }
  return fail(t.refused, body.message || (body.fields ? Object.values(body.fields).join(" ") : ""));
}

function signedOut(status) {
  if (status !== 401 && status !== 403) { return false; }
  fail(t.signed_out);
  return true;
}

// ---- looking a code up

async function lookUpOnline(text) {
  const res = await call("POST", config.urls.preview, { pickup_point_id: pointId, code: text }, device);
  if (signedOut(res.status)) { return; }
  if (!res.ok) { refusal(res.data.error); return; }
  preview = { text, online: true, data: res.data };
  showPreview(panel, t, res.data, { offline: false, onConfirm: confirm, onCancel: reset });
  signal(true);
}

function offlineFailure(error) {
  const code = error instanceof OfflineError ? error.code : "invalid_code";
  if (code === "bad_signature") { return fail(t.bad_signature, t.checked_offline); }
  if (code === "no_crypto") { return fail(t.no_crypto); }
  if (code === "no_manifest") { return fail(t.manifest_missing); }
  if (code === "typed_offline") { return fail(t.typed_offline); }
  entryLock.fail(pointId, config.lock);
  return fail(t.invalid, t.checked_offline);
}

async function lookUpOffline(text) {
  const until = entryLock.until(pointId);
  if (until) { return fail(t.locked, fmt(t.locked_until, { time: until.toLocaleTimeString() })); }
  let found;
  try {
    found = await lookup(text, manifest(), pointId);
  } catch (error) {
    return offlineFailure(error);
  }
  const entry = found.entry;
  if (entry.status === "redeemed" || queue.has(pointId, entry.code_id)) {
    return fail(t.already, entry.redeemed_by ? fmt(t.already_by, { who: entry.redeemed_by }) : t.checked_offline);
  }
  preview = { text, online: false, data: entry };
  showPreview(panel, t, entry, { offline: true, onConfirm: confirm, onCancel: reset });
  signal(true);
}

async function handle(text, source) {
  text = (text || "").trim();
  if (!text) { return; }
  if (busy) {
    if (source !== "camera") { waiting = { text, source }; }
    return;
  }
  const now = Date.now();
  // A camera sees the label in front of it many times a second, and keeps seeing it after the
  // hand-over: only a new code, or the same one shown again after it was out of sight for a
  // moment, is a new scan (so a label left in view does not buzz "already redeemed" forever).
  if (source === "camera" && text === last.text && now - last.at < CAMERA_REPEAT_MS) {
    last.at = now;
    return;
  }
  if (preview && preview.text === text) { return; }
  last = { text, at: now };
  busy = true;
  try {
    if (online()) {
      try {
        await lookUpOnline(text);
        return;
      } catch (error) {
        if (!(error instanceof NetworkError)) { throw error; }
      }
    }
    await lookUpOffline(text);
  } finally {
    busy = false;
    setNet();
    runWaiting();
  }
}

function runWaiting() {
  if (!waiting) { return; }
  const next = waiting;
  waiting = null;
  handle(next.text, next.source);
}

// ---- handing over

function enqueue(current, key) {
  const data = current.data;
  const saved = queue.add({
    idempotency_key: key,
    code: current.text,
    offline_at: new Date().toISOString(),
    device: "scanner " + device.slice(-6),
    point_id: pointId,
    code_id: data.code_id,
    order_number: data.order_number,
    shelf_slot: data.shelf_slot,
  });
  if (!saved) { return fail(t.storage_full); }
  preview = null;
  showOutcome(panel, t, { ok: true, queued: true, title: t.queued, detail: data.order_number, slot: data.shelf_slot });
  signal(true);
  drawQueue();
}

async function confirm() {
  if (!preview || busy) { return; }
  const current = preview;
  busy = true;
  const key = current.data.idempotency_key || randomHex(16);
  try {
    if (!current.online) { enqueue(current, key); return; }
    let res;
    try {
      // The preview's redeem_token proves the code for this key; a queued retry sends the code itself.
      const body = { pickup_point_id: pointId, code_id: current.data.code_id, idempotency_key: key, redeem_token: current.data.redeem_token };
      res = await call("POST", config.urls.redeem, body, device);
    } catch (error) {
      if (!(error instanceof NetworkError)) { throw error; }
      // The hand-over may or may not have reached the server: queue it under the same key, so
      // the sync either settles it or gets the first answer back.
      enqueue(current, key);
      return;
    }
    if (signedOut(res.status)) { return; }
    if (!res.ok) { refusal(res.data.error); return; }
    preview = null;
    const title = res.data.complete ? t.redeemed : t.partly;
    showOutcome(panel, t, { ok: true, title, detail: res.data.order_number, slot: res.data.shelf_slot });
    signal(true);
  } finally {
    busy = false;
    runWaiting();
  }
}

function reset() {
  preview = null;
  last = { text: "", at: 0 };
  showIdle(panel, t);
}

// ---- manifest and sync

async function refreshManifest() {
  if (!online()) { describeManifest(); return; }
  try {
    const res = await call("GET", config.urls.manifest.replace("{id}", String(pointId)), undefined, device);
    if (res.ok) { manifests.put(pointId, res.data); }
  } catch (error) { /* keep the last one */ }
  describeManifest();
}

function settledDetail(result) {
  if (result.outcome === "conflict") { return fmt(t.conflict_detail, { who: result.redeemed_by || "?" }); }
  if (result.error) { return result.error.message || result.error.code; }
  return "";
}

let syncing = false;
async function syncPoint(id, items) {
  const batch = items.filter((q) => q.point_id === id).slice(0, 100);
  const body = {
    pickup_point_id: id,
    redemptions: batch.map((q) => ({ idempotency_key: q.idempotency_key, code: q.code, offline_at: q.offline_at, device: q.device })),
  };
  const res = await call("POST", config.urls.sync, body, device);
  if (!res.ok) { return !signedOut(res.status); }
  const byKey = new Map(batch.map((q) => [q.idempotency_key, q]));
  const settled = res.data.results.filter((r) => r.outcome !== "pending");
  queue.remove(settled.map((r) => r.idempotency_key));
  history.add(settled.map((r) => ({ ...r, order_number: (byKey.get(r.idempotency_key) || {}).order_number, detail: settledDetail(r) })));
  const conflicts = settled.filter((r) => r.outcome !== "redeemed");
  if (conflicts.length) { fail(fmt(t.sync_conflicts, { n: conflicts.length }), conflicts.map(settledDetail).join(" · ")); }
  return true;
}

async function sync() {
  const items = queue.all();
  if (!syncing && items.length && online()) {
    syncing = true;
    try {
      for (const id of [...new Set(items.map((q) => q.point_id))]) {
        if (!(await syncPoint(id, items))) { break; }
      }
    } catch (error) { /* network dropped again: the queue stays */ } finally {
      syncing = false;
    }
  }
  drawQueue();
  await refreshManifest();
}

// ---- input: keyboard-wedge scanner, typed code, camera

let typed = "";
let typedAt = 0;
document.addEventListener("keydown", (event) => {
  unlockAudio();
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select")) { return; }
  if (event.key === "Enter") {
    event.preventDefault(); // never also "click" a focused button
    const text = typed;
    typed = "";
    if (text) { handle(text); } else if (preview) { confirm(); }
    return;
  }
  if (event.key === "Escape") { typed = ""; reset(); return; }
  if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
    if (Date.now() - typedAt > 2000) { typed = ""; }
    typed = (typed + event.key).slice(-300);
    typedAt = Date.now();
  }
});

const manual = root.querySelector("[data-manual]");
manual.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = manual.elements.code;
  const text = input.value;
  input.value = "";
  if (text.trim()) { handle(text); } else if (preview) { confirm(); }
});

const video = root.querySelector("[data-video]");
const cameraButton = root.querySelector("[data-camera]");
const camera = createCamera(video, {
  onText: (text) => handle(text, "camera"),
  onStatus: (status) => {
    root.querySelector("[data-camera-status]").textContent = t["camera_" + status] || "";
    root.classList.toggle("camera-on", camera.running);
    cameraButton.textContent = camera.running ? t.camera_stop : t.camera_start;
  },
});
cameraButton.addEventListener("click", () => {
  unlockAudio();
  if (camera.starting) { return; }
  if (camera.running) { camera.stop(); } else { camera.start(); }
});
document.addEventListener("pointerdown", unlockAudio);
if (navigator.permissions && navigator.permissions.query) {
  navigator.permissions.query({ name: "camera" }).then((state) => { if (state.state === "granted") { camera.start(); } }).catch(() => {});
}

pointSelect.addEventListener("change", () => {
  pointId = Number(pointSelect.value);
  try { window.localStorage.setItem("gb.scanner.point", String(pointId)); } catch (error) { /* not kept */ }
  reset();
  drawQueue();
  refreshManifest();
});
root.querySelector("[data-sync]").addEventListener("click", sync);
window.addEventListener("online", () => { setNet(); sync(); });
window.addEventListener("offline", setNet);
window.setInterval(() => { if (queue.all().length) { sync(); } }, SYNC_EVERY_MS);
window.setInterval(refreshManifest, MANIFEST_EVERY_MS);

const remembered = Number(window.localStorage.getItem("gb.scanner.point"));
if (config.points.some((p) => p.id === remembered)) { pointSelect.value = String(remembered); pointId = remembered; }
manifests.dropOutdated();
setNet();
showIdle(panel, t);
drawQueue();
describeManifest();
sync().then(() => { root.dataset.ready = "1"; });
