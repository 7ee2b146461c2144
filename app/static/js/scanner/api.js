// Talking to /api/v1 with the session cookie: CSRF header on writes, the device id on every call.
// A request that never reaches the server throws NetworkError, so callers can fall back offline.
export class NetworkError extends Error {}

const TIMEOUT_MS = 8000;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function call(method, url, body, deviceId) {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = { Accept: "application/json", "X-Device-Id": deviceId };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  let response;
  try {
    response = await window.fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch (error) {
    throw new NetworkError(String(error));
  } finally {
    window.clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (response.status >= 502 && response.status <= 504) { throw new NetworkError("gateway " + response.status); }
  return { ok: response.ok, status: response.status, data: data || {} };
}
