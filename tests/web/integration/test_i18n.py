"""Simplified Chinese by default, English beside it: the locale switch, translated errors and pages,
and a complete zh catalogue (every source string translated, placeholders kept)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.config import load_config
from app.extensions import babel, db
from tests.support.forms import csrf_from
from tests.support.shop import ShopBuilder

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "app" / "translations"
LOCALES = ("zh", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read(locale: str):
    with _po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def _compile(po: Path) -> None:
    """What `pybabel compile -f` does, written atomically so a concurrent reader never sees half a file."""
    mo = po.with_suffix(".mo")
    with po.open("rb") as f:
        catalog = read_po(f)
    tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=True)
    os.replace(tmp, mo)


def test_chinese_is_the_shipped_default_locale(monkeypatch, tmp_path):
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    assert load_config(str(tmp_path))["BABEL_DEFAULT_LOCALE"] == "zh"


@pytest.fixture(scope="session")
def compiled_catalogues() -> bool:
    """`make test` compiles first; this makes plain `pytest` work too. True if a .mo was (re)built."""
    rebuilt = False
    for locale in LOCALES:
        po = _po_path(locale)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            _compile(po)
            rebuilt = True
    return rebuilt


@pytest.fixture
def web(app, client, compiled_catalogues):
    # The suite runs in English (tests/conftest.py); here the shipped default applies.
    app.config["BABEL_DEFAULT_LOCALE"] = load_config(app.instance_path)["BABEL_DEFAULT_LOCALE"]
    if compiled_catalogues:
        # Requests earlier in the session may have cached the catalogue as it was before compiling.
        babel.domain_instance.cache.clear()
    return client


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _is_chinese(html: str) -> bool:
    return '<html lang="zh-CN">' in html and "登录" in html and "Log in" not in html


def _is_english(html: str) -> bool:
    return '<html lang="en">' in html and "Log in" in html and "登录" not in html


# ---- choosing the locale


def test_login_page_is_chinese_by_default(web):
    assert _is_chinese(_html(web.get("/login")))


def test_lang_query_parameter_switches_to_english(web):
    assert _is_english(_html(web.get("/login?lang=en")))


def test_unsupported_lang_falls_back_to_chinese(web):
    assert _is_chinese(_html(web.get("/login?lang=fr")))


def test_language_link_sets_a_cookie_that_sticks(web):
    response = web.get("/lang/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert "lang=en" in response.headers["Set-Cookie"]
    assert _is_english(_html(web.get("/login")))
    web.get("/lang/zh")
    assert _is_chinese(_html(web.get("/login")))


def test_language_link_ignores_unknown_codes(web):
    response = web.get("/lang/xx")
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers
    assert _is_chinese(_html(web.get("/login")))


@pytest.mark.parametrize(
    ("header", "english"),
    [("en", True), ("en-US,en;q=0.9", True), ("zh-CN,zh;q=0.9,en;q=0.5", False), ("fr-FR", False)],
)
def test_accept_language_header_is_honoured(web, header, english):
    html = _html(web.get("/login", headers={"Accept-Language": header}))
    assert _is_english(html) if english else _is_chinese(html)


def test_lang_parameter_beats_the_cookie_and_the_header(web):
    web.get("/lang/en")
    html = _html(web.get("/login?lang=zh", headers={"Accept-Language": "en"}))
    assert _is_chinese(html)


def test_users_saved_language_applies_after_login(web, login, make_user):
    user = make_user(phone="13900000101")
    user.locale = "en"
    db.session.commit()
    login(user, c=web)
    html = _html(web.get("/account/notifications"))
    assert "Notifications" in html and "Log out" in html and "通知" not in html
    assert "退出登录" in _html(web.get("/account/notifications?lang=zh"))


def test_signed_in_switch_saves_the_language_on_the_account_and_needs_its_csrf_token(web, login, make_user):
    from app.models import User

    user = make_user(phone="13900000102")
    login(user, c=web)
    assert web.post("/lang/en?next=/account/notifications").status_code == 400  # no token: refused
    assert db.session.get(User, user.id, populate_existing=True).locale != "en"
    token = csrf_from(web.get("/account/notifications").get_data(as_text=True))
    response = web.post("/lang/en?next=/account/notifications", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/notifications")
    assert db.session.get(User, user.id, populate_existing=True).locale == "en"
    assert web.post("/lang/xx", data={"csrf_token": token}).status_code == 302
    assert db.session.get(User, user.id, populate_existing=True).locale == "en"


# ---- translated pages and errors


def test_wrong_password_form_error_is_chinese(web, make_user):
    user = make_user(phone="13900000102")
    token = csrf_from(web.get("/login").get_data(as_text=True))
    response = web.post("/login", data={"login": user.phone, "password": "not-it-at-all", "csrf_token": token})
    assert response.status_code == 422
    assert "手机号、邮箱或密码错误。" in response.get_data(as_text=True)


def test_api_validation_error_is_chinese_by_default(web, shop):
    s = shop()
    response = web.post(f"/api/v1/shop/{s.slug}/orders", json={})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["message"] == "请修改标出的内容。"
    assert error["fields"]["pickup_point_id"] == "此项必填。"


def test_api_validation_error_is_english_when_asked(web, shop):
    s = shop()
    response = web.post(f"/api/v1/shop/{s.slug}/orders", json={}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "Please correct the highlighted fields."
    assert error["fields"]["pickup_point_id"] == "This field is required."


def test_api_out_of_stock_message_is_chinese(web, shop):
    s = shop(stock=1)
    body = {
        "items": [{"window_item_id": s.item.id, "quantity": 2}],
        "pickup_point_id": s.point.id,
        "customer_name": "张三",
        "customer_phone": "13800138000",
        "payment_provider": "simulator",
    }
    response = web.post(f"/api/v1/shop/{s.slug}/orders", json=body)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == "抱歉，库存不足。"


def test_shop_page_for_a_share_link_has_chinese_labels(web, shop):
    s = shop(price_fen=1250)
    html = _html(web.get(f"/s/{s.slug}"))
    assert '<html lang="zh-CN">' in html
    for label in ("商家", "团长", "截单时间", "距截单", "提货日期", "自提点", "付款方式", "提交订单"):
        assert label in html, label
    for english in ("Place order", "Pickup point", "Order by", "Payment method"):
        assert english not in html, english
    assert "¥12.50" in html


def test_shop_page_in_english_on_request(web, shop):
    s = shop()
    html = _html(web.get(f"/s/{s.slug}?lang=en"))
    assert "Place order" in html and "提交订单" not in html


# ---- the catalogues themselves


def _texts(message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return ids, strings


def _untranslated(catalog) -> list[str]:
    out = []
    for message in catalog:
        if not message.id:
            continue
        _ids, strings = _texts(message)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            out.append(str(message.id))
    return out


def test_every_zh_message_is_translated():
    assert _untranslated(_read("zh")) == []


def _glossary() -> list[dict[str, object]]:
    """The rows of docs/glossary.md: en and zh words, and the variants each language must not use."""
    rows = []
    for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 5 or cells[0] in ("concept", "---") or set(cells[0]) <= {"-"}:
            continue
        split = lambda text: [word.strip() for word in text.split(",") if word.strip()]  # noqa: E731
        rows.append({"en": cells[1], "zh": cells[2], "never_zh": split(cells[3]), "never_en": split(cells[4])})
    return rows


def test_the_glossary_is_read():
    rows = _glossary()
    assert len(rows) >= 10
    assert any(row["en"] == "Pickup code" and row["zh"] == "提货码" and "取货码" in row["never_zh"] for row in rows)
    assert any(row["en"] == "Hand over" and row["zh"] == "交付" for row in rows)


def test_zh_texts_use_the_glossarys_words():
    """docs/glossary.md: no zh text uses a banned variant; a text that is exactly a glossary term
    in English says the glossary's zh word."""
    catalog = _read("zh")
    drifted = []
    for row in _glossary():
        for message in catalog:
            if not message.id or not isinstance(message.string, str):
                continue
            drifted += [(message.id, message.string, word) for word in row["never_zh"] if word in message.string]
        exact = catalog.get(row["en"])
        if exact is not None and row["zh"] not in exact.string:
            drifted.append((row["en"], exact.string, f"should say {row['zh']}"))
    assert drifted == []


def test_english_texts_use_the_glossarys_words():
    drifted = []
    for row in _glossary():
        for word in row["never_en"]:
            banned = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
            drifted += [(message.id, word) for message in _read("en") if message.id and banned.search(str(message.id))]
    assert drifted == []


def test_every_string_in_the_source_is_in_the_zh_catalogue():
    """Fails when someone adds a string and forgets `make messages` plus a translation."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    catalog = _read("zh")
    missing = []
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords, directory_filter=_only_app
    ):
        entry = catalog.get(message[0] if isinstance(message, tuple) else message, context)
        if entry is None or entry.fuzzy or not all(_texts(entry)[1]):
            missing.append(f"{filename}:{lineno}: {message!r}")
    assert missing == []


def _only_app(dirpath: str) -> bool:
    relative = Path(dirpath).resolve().relative_to(ROOT).parts
    return not relative or relative[0] == "app"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_in_translations_match_the_source(locale):
    wrong = []
    for message in _read(locale):
        if not message.id:
            continue
        ids, strings = _texts(message)
        # Chinese has one plural form: msgstr[0] serves every count, so it takes the plural's names.
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) != expected:
                wrong.append((message.id, string))
    assert wrong == []


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_passes_babels_checks_and_compiles(locale):
    catalog = _read(locale)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert problems == []
    write_mo(io.BytesIO(), catalog, use_fuzzy=True)


def test_en_catalogue_lists_the_same_messages_and_keeps_the_english_source():
    zh, en = _read("zh"), _read("en")
    assert {m.id for m in en if m.id} == {m.id for m in zh if m.id}
    assert all(not any(_texts(m)[1]) for m in en if m.id)
