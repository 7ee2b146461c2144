"""What the layout tests check on every page (issue #16), as scripts run in the page: nothing
scrolls sideways, every input has a label, tap targets are at least 44 px, text keeps WCAG AA
contrast, no button label breaks across lines, no text box is narrower than four characters."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

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
    if (el.matches(":disabled")) continue;  // WCAG 1.4.3 exempts inactive controls
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


# A label wraps when its text's line boxes sit at more than one height (icons and badges aside).
BROKEN_LABELS = """() => [...document.querySelectorAll(
    'main button, main .button, .ui-tabbar a, .ui-tabs a, .ui-actionbar button')]
  .filter((el) => el.offsetParent !== null && el.textContent.trim())
  .filter((el) => {
    const tops = new Set();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim() || node.parentElement.closest('.ui-badge')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) {
        if (r.width > 0 && r.height > 0) tops.add(Math.round(r.top / 4));
      }
    }
    return tops.size > 1;
  })
  .map((el) => el.textContent.trim().replace(/\\s+/g, " ").slice(0, 30))"""
# A text box must show four characters: four "0" for numbers, four "中" for words.
NARROW_BOXES = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll('main input, main textarea')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !['hidden', 'checkbox', 'radio', 'file', 'submit', 'button'].includes(el.type))
    .filter((el) => {
      const style = getComputedStyle(el);
      canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const numeric = ['number', 'tel'].includes(el.type) || ['numeric', 'decimal'].includes(el.inputMode);
      const sample = numeric ? '0000' : '中中中中';
      const inner = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return inner + 1 < canvas.measureText(sample).width;
    })
    .map((el) => el.name || el.id)
}"""


def problems(page) -> dict:
    """Every layout rule this page breaks, by rule (empty when it keeps them all)."""
    found = {
        "sideways scroll": not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"),
        "unlabelled inputs": page.evaluate(UNLABELLED),
        "small tap targets": page.evaluate(SMALL_TARGETS),
        "low contrast": page.evaluate(LOW_CONTRAST),
        "button labels broken across lines": page.evaluate(BROKEN_LABELS),
        "text boxes narrower than four characters": page.evaluate(NARROW_BOXES),
    }
    return {rule: what for rule, what in found.items() if what}


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
