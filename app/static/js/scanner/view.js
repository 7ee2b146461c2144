// Drawing the scanner's panels. Built from DOM nodes with textContent only: names and item
// texts come from the server and the manifest and are never parsed as HTML.
export function fmt(text, values) {
  return text.replace(/%\((\w+)\)s/g, (match, name) => (values[name] === undefined || values[name] === null ? "" : String(values[name])));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => {
    if (value === false || value === null || value === undefined) { return; }
    if (key === "class") { node.className = value; } else { node.setAttribute(key, value === true ? "" : value); }
  });
  children.flat().forEach((child) => {
    if (child === null || child === undefined || child === false) { return; }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  });
  return node;
}

function slotBlock(t, slot) {
  return el("div", { class: "scan-slot", "data-testid": "scan-slot" },
    el("span", {}, t.slot), el("strong", {}, slot === null || slot === undefined ? "—" : slot));
}

function itemList(t, items) {
  return el("ul", { class: "scan-items" }, items.map((item) => {
    const left = item.remaining !== undefined ? item.remaining : item.hand_over;
    return el("li", { class: left ? "" : "done" },
      el("span", {}, [item.name, item.spec].filter(Boolean).join(" ")),
      el("b", {}, "× " + left),
      item.shortage_qty ? el("em", {}, fmt(t.short, { n: item.shortage_qty })) : null);
  }));
}

export function showPreview(panel, t, data, { offline, onConfirm, onCancel }) {
  const confirm = el("button", { type: "button", class: "button scan-confirm", "data-confirm": true }, t.confirm);
  const cancel = el("button", { type: "button", class: "link", "data-cancel": true }, t.cancel);
  confirm.addEventListener("click", onConfirm);
  cancel.addEventListener("click", onCancel);
  const nothing = data.items.every((item) => !(item.remaining !== undefined ? item.remaining : item.hand_over));
  panel.replaceChildren(el("div", { class: "scan-card scan-preview", "data-state": "preview" },
    slotBlock(t, data.shelf_slot),
    el("p", { class: "scan-customer" }, [data.customer_name, data.customer_phone].filter(Boolean).join(" · ")),
    el("p", { class: "scan-order" }, fmt(t.order, { number: data.order_number })),
    offline ? el("p", { class: "badge scan-offline" }, t.checked_offline) : null,
    itemList(t, data.items),
    nothing ? el("p", { class: "scan-note" }, t.nothing_left) : null,
    el("div", { class: "scan-actions" }, confirm, cancel)));
  confirm.focus({ preventScroll: true });
}

export function showOutcome(panel, t, { ok, title, detail, slot, items, queued }) {
  panel.replaceChildren(el("div", {
    class: "scan-card " + (ok ? "scan-ok" : "scan-fail"),
    "data-state": ok ? (queued ? "queued" : "redeemed") : "refused",
    role: ok ? "status" : "alert",
  },
  slot !== undefined ? slotBlock(t, slot) : null,
  el("p", { class: "scan-title", "data-testid": "scan-title" }, title),
  detail ? el("p", { class: "scan-detail" }, detail) : null,
  items ? itemList(t, items) : null));
}

export function showIdle(panel, t) {
  panel.replaceChildren(el("p", { class: "scan-idle" }, t.prompt));
}

export function renderQueue(section, t, items, past) {
  section.hidden = !items.length && !past.length;
  section.querySelector("[data-queue-count]").textContent = String(items.length);
  section.querySelector("[data-queue-list]").replaceChildren(...items.map((q) => el("li", { "data-queued": q.idempotency_key },
    el("b", {}, fmt(t.slot_n, { slot: q.shelf_slot === null ? "—" : q.shelf_slot })), " ",
    q.order_number, " · ", new Date(q.offline_at).toLocaleTimeString())));
  section.querySelector("[data-history-list]").replaceChildren(...past.slice(0, 20).map((r) => el("li", {
    class: "sync-" + r.outcome, "data-outcome": r.outcome,
  }, el("b", {}, t["outcome_" + r.outcome] || r.outcome), " ", r.order_number || "", " ", r.detail || "")));
}
