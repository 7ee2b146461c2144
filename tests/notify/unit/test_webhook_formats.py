"""Robot messages fit the robots' limits, which count UTF-8 bytes (a Chinese character is three,
an emoji four): WeCom markdown at most 4096 bytes, DingTalk markdown 5000 and its title 64; a
long body is cut between characters, never inside one, and the link stays whole."""

from __future__ import annotations

import json

import pytest

from app.services.notify import webhook_formats
from app.services.notify.webhook_formats import Message, cut_utf8

LINK = "https://groupbuy.example/leader/batches/7"


def _markdown(kind: str, title: str, body: str) -> dict:
    message = Message(event="batch_arrived", title=title, body=body, link=LINK, delivery_id=1)
    request = webhook_formats.build(
        kind, "https://robot.example/send", "SEC-secret", message, 1_700_000_000_000, "查看"
    )
    return json.loads(request.body)["markdown"]


@pytest.mark.parametrize(
    ("kind", "field", "limit"),
    [
        ("wecom", "content", webhook_formats.WECOM_MARKDOWN_MAX_BYTES),
        ("dingtalk", "text", webhook_formats.DINGTALK_MARKDOWN_MAX_BYTES),
    ],
)
@pytest.mark.parametrize("unit", ["赣南脐橙到货，请尽快提货。", "🍊🍓", "ab中😀"])
def test_a_long_chinese_body_is_cut_to_the_robots_byte_limit_keeping_the_link(kind, field, limit, unit):
    body = unit * 3000
    text = _markdown(kind, "鲜果坊 到货了", body)[field]
    size = len(text.encode())
    assert limit - 4 < size <= limit  # cut by bytes: as much as fits, not a character count
    assert "鲜果坊 到货了" in text.split("\n\n")[0]
    assert text.endswith(f"\n\n[查看]({LINK})")  # the link is never the part cut off
    kept = text.split("\n\n")[1]
    assert kept.endswith("…") and body.startswith(kept[:-1])  # whole characters, in order


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_a_message_within_the_limit_is_sent_whole(kind):
    body = "32 单已确认，货架 1–32。" * 10
    markdown = _markdown(kind, "周末水果团 已截单", body)
    text = markdown["content"] if kind == "wecom" else markdown["text"]
    assert body in text and "…" not in text and text.endswith(f"[查看]({LINK})")


def test_the_dingtalk_title_is_cut_to_64_bytes():
    title = "周末水果团已截单" * 10
    markdown = _markdown("dingtalk", title, "正文")
    assert len(markdown["title"].encode()) <= 64 and title.startswith(markdown["title"][:-1])


@pytest.mark.parametrize("text", ["中文字符", "😀😀😀", "a中😀b", "abc"])
def test_cutting_never_splits_a_character(text):
    for limit in range(0, len(text.encode()) + 2):
        cut = cut_utf8(text, limit)
        assert len(cut.encode()) <= limit
        assert cut == text or cut == "" or (cut.endswith("…") and text.startswith(cut[:-1]))
