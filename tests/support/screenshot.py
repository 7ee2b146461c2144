"""Regenerate docs/screenshot.png (the README picture) from a running demo, at phone size.

    .venv/bin/python tests/support/screenshot.py [output.png]

Seeds the demo (`flask seed-demo`) into a throw-away instance, serves it, and puts three phone
screens side by side: the leader's share page, the customer's group-buy page (items, countdown)
and a customer's order with its pickup code. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import io
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.live_server import LiveServer  # noqa: E402

PHONE = {"width": 390, "height": 844}
LEADER_PHONE = "13800000002"  # 阳光小区, see app/services/ops/demo.py
PASSWORD = "groupbuy123"  # noqa: S105 - the published demo password
LIVE_TITLE = "今日鲜果蔬菜团"
CUSTOMER = "13911110001"  # 张阿姨: paid, closed, arrived: her order shows a pickup code
GAP = 28
BACKGROUND = (246, 247, 249)
MAX_BYTES = 300_000


def _flask(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _demo_rows(db_file: Path) -> dict:
    with sqlite3.connect(db_file) as conn:
        window_id, slug = conn.execute(
            "SELECT w.id, s.slug FROM windows w JOIN share_links s ON s.window_id = w.id "
            "JOIN leaders l ON l.id = s.leader_id JOIN users u ON u.id = l.user_id "
            "WHERE w.title = ? AND u.phone = ?",
            (LIVE_TITLE, LEADER_PHONE),
        ).fetchone()
        (token,) = conn.execute(
            "SELECT access_token FROM orders WHERE customer_phone = ? ORDER BY id LIMIT 1", (CUSTOMER,)
        ).fetchone()
    return {"window_id": window_id, "slug": slug, "token": token}


def _shots(base_url: str, rows: dict) -> list[bytes]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        options = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        options.update(locale="zh-CN", timezone_id="Asia/Shanghai", device_scale_factor=1)

        leader = browser.new_context(**options).new_page()
        leader.goto(base_url + "/login")
        leader.fill("input[name=login]", LEADER_PHONE)
        leader.fill("input[name=password]", PASSWORD)
        leader.click("button[type=submit]")
        leader.wait_for_url(lambda url: "/login" not in url)
        leader.goto(f"{base_url}/leader/windows/{rows['window_id']}/share")
        leader.wait_for_function("document.querySelector('img.share-qr').naturalWidth > 0")

        customer = browser.new_context(**options).new_page()
        customer.goto(f"{base_url}/s/{rows['slug']}")
        customer.wait_for_function("/\\d\\d:\\d\\d/.test(document.querySelector('.countdown').textContent)")

        order = browser.new_context(**options).new_page()
        order.goto(f"{base_url}/o/{rows['token']}")
        order.wait_for_function("document.querySelector('[data-testid=pickup-code] img').naturalWidth > 0")

        shots = [page.screenshot() for page in (leader, customer, order)]
        browser.close()
    return shots


def _compose(shots: list[bytes]) -> bytes:
    from PIL import Image

    images = [Image.open(io.BytesIO(shot)).convert("RGB") for shot in shots]
    width = sum(image.width for image in images) + GAP * (len(images) + 1)
    height = max(image.height for image in images) + GAP * 2
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    x = GAP
    for image in images:
        canvas.paste(image, (x, GAP))
        x += image.width + GAP
    out = io.BytesIO()
    # A palette keeps flat UI screens sharp and the file small.
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        db_file = instance / "demo.sqlite3"
        database_url, secret = f"sqlite:///{db_file}", secrets.token_urlsafe(32)
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=secret, INSTANCE_PATH=str(instance))
        env.update(FLASK_APP="app", SCHEDULER_ENABLED="0")
        _flask(env, "db", "upgrade")
        _flask(env, "seed-demo")
        server = LiveServer(database_url, secret, str(instance), threads=4)
        try:
            png = _compose(_shots(server.url, _demo_rows(db_file)))
        finally:
            server.stop()
    if len(png) > MAX_BYTES:
        raise SystemExit(f"screenshot is {len(png)} bytes, over {MAX_BYTES}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    print(f"wrote {target} ({len(png) // 1024} KB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png")
