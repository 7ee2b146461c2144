// Checking a code with no network: the QR's Ed25519 signature against the server's public keys
// (WebCrypto), then the code's keyed hash against the pickup point's manifest.
const encoder = new TextEncoder();

export class OfflineError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

function bytesFromB64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = window.atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function canVerify() {
  return Boolean(window.crypto && window.crypto.subtle);
}

const keyCache = new Map();

async function publicKey(raw) {
  if (!keyCache.has(raw)) {
    keyCache.set(raw, window.crypto.subtle.importKey("raw", bytesFromB64url(raw), { name: "Ed25519" }, false, ["verify"]));
  }
  return keyCache.get(raw);
}

// The QR text's fields if its signature is ours, else OfflineError("bad_signature").
export async function verifyQr(text, signing) {
  const parts = text.split(".");
  if (parts.length !== 7 || parts[0] !== signing.qr_version || text.length > 300) {
    throw new OfflineError("bad_signature");
  }
  const [, kid, orderId, pointId, code, issued, signature] = parts;
  const raw = signing.keys[kid];
  if (!raw || !/^\d+$/.test(orderId) || !/^\d+$/.test(pointId) || !/^\d{8}$/.test(code) || !/^\d+$/.test(issued)) {
    throw new OfflineError("bad_signature");
  }
  if (!canVerify()) { throw new OfflineError("no_crypto"); }
  let ok = false;
  try {
    const key = await publicKey(raw);
    ok = await window.crypto.subtle.verify({ name: "Ed25519" }, key, bytesFromB64url(signature), encoder.encode(parts.slice(0, 6).join(".")));
  } catch (error) {
    if (error && error.name === "NotSupportedError") { throw new OfflineError("no_crypto"); }
    ok = false;
  }
  if (!ok) { throw new OfflineError("bad_signature"); }
  return { orderId: Number(orderId), pointId: Number(pointId), code };
}

export async function codeHash(keyB64url, digits) {
  const key = await window.crypto.subtle.importKey("raw", bytesFromB64url(keyB64url), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await window.crypto.subtle.sign("HMAC", key, encoder.encode(digits)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The manifest entry a scanned or typed text names at this point. Unknown codes, codes of other
// points and malformed input all answer "invalid_code", as the server does.
export async function lookup(text, manifest, pointId) {
  if (!manifest) { throw new OfflineError("no_manifest"); }
  let digits;
  let viaQr = false;
  if (text.startsWith(manifest.signing.qr_version + ".")) {
    const fields = await verifyQr(text, manifest.signing);
    if (fields.pointId !== pointId) { throw new OfflineError("invalid_code"); }
    digits = fields.code;
    viaQr = true;
  } else {
    digits = text.replace(/[\s-]/g, "");
    if (!/^\d{8}$/.test(digits)) { throw new OfflineError("malformed"); }
  }
  if (!canVerify()) { throw new OfflineError("no_crypto"); }
  const h = await codeHash(manifest.hash.key, digits);
  const entry = manifest.orders.find((order) => order.h === h);
  if (!entry) { throw new OfflineError("invalid_code"); }
  return { entry, h, viaQr };
}
