// What the scanner keeps on the device (localStorage, under "gb."): the offline manifest per
// pickup point (no codes, nothing derived from one), the queue of offline hand-overs, recent sync
// results and the offline entry lock. A queued hand-over keeps the text as scanned, which holds
// its code, until the server has settled it: the sync must prove the code, and that bag has
// already gone over the counter, so its code no longer opens a waiting bag.
const PREFIX = "gb.";
const HISTORY_MAX = 50;
// The manifest format this code reads (services/pickup/offline_manifest.py MANIFEST_VERSION). Version 1
// carried an HMAC key and a hash of every waiting code, from which all codes can be recovered:
// a kept manifest of any other version is deleted, not just ignored.
const MANIFEST_VERSION = 2;

function read(key, fallback) {
  try {
    const raw = window.localStorage.getItem(PREFIX + key);
    return raw ? JSON.parse(raw) : fallback;
  } catch (error) {
    return fallback;
  }
}

function write(key, value) {
  try {
    window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
    return true;
  } catch (error) {
    return false; // full or disabled: the caller says so
  }
}

export function randomHex(bytes) {
  const data = new Uint8Array(bytes);
  window.crypto.getRandomValues(data);
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Stable per device (kept across sign-outs): the server locks code entry per device too.
export function deviceId() {
  let id = null;
  try { id = window.localStorage.getItem("gb.device"); } catch (error) { /* disabled */ }
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    id = "pwa-" + randomHex(12);
    try { window.localStorage.setItem("gb.device", id); } catch (error) { /* disabled */ }
  }
  return id;
}

function forget(key) {
  try { window.localStorage.removeItem(PREFIX + key); } catch (error) { /* disabled: nothing kept */ }
}

export const manifests = {
  get(pointId) {
    const manifest = read("manifest." + pointId, null);
    if (manifest && manifest.version !== MANIFEST_VERSION) {
      forget("manifest." + pointId);
      return null;
    }
    return manifest;
  },
  put(pointId, manifest) {
    if (!manifest || manifest.version !== MANIFEST_VERSION) { return false; }
    return write("manifest." + pointId, { ...manifest, fetched_at: new Date().toISOString() });
  },
  // Every point's kept manifest of another version, not only the point on screen.
  dropOutdated() {
    let keys = [];
    try { keys = Object.keys(window.localStorage); } catch (error) { return; }
    keys.filter((key) => key.startsWith(PREFIX + "manifest.")).forEach((key) => {
      manifests.get(key.slice((PREFIX + "manifest.").length));
    });
  },
};

export const queue = {
  all: () => read("queue", []),
  add(item) {
    const items = queue.all();
    if (!items.some((q) => q.idempotency_key === item.idempotency_key)) { items.push(item); }
    return write("queue", items);
  },
  remove(keys) {
    const drop = new Set(keys);
    write("queue", queue.all().filter((q) => !drop.has(q.idempotency_key)));
  },
  has: (pointId, codeId) => queue.all().some((q) => q.point_id === pointId && q.code_id === codeId),
};

export const history = {
  all: () => read("history", []),
  add(entries) {
    write("history", [...entries, ...history.all()].slice(0, HISTORY_MAX));
  },
};

// Offline there is no server to lock entry after wrong codes, so the device locks itself the
// same way (limits come from the server's settings), per pickup point.
export const entryLock = {
  until(pointId) {
    const state = read("lock." + pointId, { failures: [], until: null });
    return state.until && Date.parse(state.until) > Date.now() ? new Date(state.until) : null;
  },
  fail(pointId, limits) {
    const now = Date.now();
    const state = read("lock." + pointId, { failures: [], until: null });
    const windowMs = limits.windowMinutes * 60000;
    state.failures = [...state.failures.filter((t) => now - t <= windowMs), now];
    if (state.failures.length >= limits.failures) {
      state.until = new Date(now + limits.lockMinutes * 60000).toISOString();
      state.failures = [];
    }
    write("lock." + pointId, state);
  },
};
