"""The leader's main pages at 390×844 in Chinese (the default) and English: no sideways scroll,
every input labelled, tap targets of at least 44 px, text contrast of at least WCAG AA (4.5:1,
3:1 for large text); a screenshot of each is written to test-results/screenshots/ (git-ignored)
on every run so a person can look at them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

SHOTS = Path(__file__).resolve().parents[3] / "test-results" / "screenshots"
PAGES = {
    "leader-today": "/leader/",
    "leader-orders": "/leader/orders",
    "leader-orders-waiting": "/leader/orders?tab=ready_for_pickup",
    "leader-exceptions": "/leader/exceptions",
    "leader-customers": "/leader/customers",
    "notifications": "/account/notifications",
    "channels": "/account/channels",
    "scanner": "/pickup/scan",
}
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.closest('label'))
  .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))"""
SMALL_TARGETS = """() => [...document.querySelectorAll('main button, main .button, main input[type=submit]')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)"""
# WCAG 2 contrast of every visible element's own text against the colours painted behind it
# (backgrounds blended up the ancestors, over white). Returns [text, ratio, needed] of failures.
LOW_CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, base) => ({
    r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a), a: 1 });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((base, layer) => over(layer, base), { r: 255, g: 255, b: 255, a: 1 });
  };
  const failures = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim())
      .map((n) => n.textContent.trim()).join(" ");
    if (!own || el.closest("[hidden], noscript, script, style, option") || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || parseFloat(style.opacity) === 0) continue;
    const bg = behind(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push([own.slice(0, 30), Math.round(ratio * 100) / 100, needed]);
  }
  return failures;
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_pages_fit_a_phone_label_their_inputs_have_big_buttons_and_readable_text(
    live_server, pages, make_point, make_leader, make_product, make_window, make_order, lang
):
    leader = make_leader("阳光小区")
    point = make_point(leader, staff=())
    product = make_product(name="丹东草莓")
    window = make_window(product.merchant, items=[{"product": product}], title="周末水果团")
    for status, name in (("pending_payment", "赵阿姨"), ("paid", "钱大爷"), ("ready_for_pickup", "孙阿姨")):
        make_order(window, point, [(window.items[0], 1)], status=status, name=name, provider="offline")
    page = pages.open(phone=True)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    log_in(page, live_server, leader.user.phone)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for name, path in PAGES.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)
        found = {
            "sideways scroll": not no_horizontal_scroll(page),
            "unlabelled inputs": page.evaluate(UNLABELLED),
            "small tap targets": page.evaluate(SMALL_TARGETS),
            "low contrast": page.evaluate(LOW_CONTRAST),
        }
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[path] = found
    assert problems == {}
