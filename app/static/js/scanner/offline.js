// Checking a code with no network: the QR's Ed25519 signature against the server's public keys
// (WebCrypto), then its order id against the pickup point's manifest. The manifest holds nothing
// derived from a code (a hash of 8 digits is undone by trying all 10^8), so a typed code cannot be
// checked offline and is refused: the QR's signature is what proves the code with no network.
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

// The manifest entry a scanned QR names at this point. Anything that is not a QR text (a typed
// code) answers "typed_offline"; forged QRs "bad_signature"; a genuine QR of another point or of
// a bag not in the manifest "invalid_code", as the server does.
export async function lookup(text, manifest, pointId) {
  if (text.split(".").length !== 7) { throw new OfflineError("typed_offline"); }
  if (!manifest) { throw new OfflineError("no_manifest"); }
  const fields = await verifyQr(text, manifest.signing);
  if (fields.pointId !== pointId) { throw new OfflineError("invalid_code"); }
  // One code per order: a genuine signature over this order id names this order's code.
  const entry = manifest.orders.find((order) => order.order_id === fields.orderId);
  if (!entry) { throw new OfflineError("invalid_code"); }
  return { entry };
}
