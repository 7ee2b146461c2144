"""A customer takes only part of the bag now: the counter hands over what staff chose, keeps the
rest waiting under the same code, and completes the order when the rest is collected."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Order, PickupCode
from tests.support.browser import log_in
from tests.support.pickup import items_of

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


def look_up(page, code: str) -> None:
    page.get_by_test_id("code-input").fill(code)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("preview")).to_be_visible()


def handed_over(page):
    """The lines the result says went over the counter just now."""
    return page.get_by_test_id("result-ok").get_by_role("listitem")


def taken(bag) -> list[int]:
    """redeemed_qty per line as the live server left it (a new transaction: SQLite's WAL would
    otherwise keep showing this session the snapshot its last read started)."""
    db.session.commit()
    return [item.redeemed_qty for item in items_of(bag.order)]


def code_and_order(bag) -> tuple[str, str]:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(PickupCode, bag.code.id).status, db.session.get(Order, bag.order.id).status


def test_taking_some_units_now_leaves_the_rest_waiting_until_collected(live_server, pages, bags):
    bag = bags.make(quantities=(3, 2))
    apples, milk = items_of(bag.order)
    page = pages.open(phone=True)
    log_in(page, live_server, bag.staff.phone)

    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    expect(page.get_by_test_id(f"qty-{apples.id}")).to_have_value("3")
    expect(page.get_by_test_id(f"qty-{milk.id}")).to_have_value("2")
    page.get_by_test_id(f"qty-{apples.id}").fill("1")
    page.get_by_test_id(f"qty-{milk.id}").fill("0")
    page.get_by_test_id("confirm-partial").click()

    result = page.get_by_test_id("result-ok")
    expect(result).to_contain_text("Partly handed over")
    expect(result).to_contain_text(bag.order.number)
    expect(handed_over(page)).to_have_text([re.compile(rf"{apples.product_name}.*× 1$")])
    expect(page.get_by_test_id("still-waiting")).to_have_text(
        re.compile(rf"{apples.product_name} × 2, {milk.product_name} × 2")
    )
    assert taken(bag) == [1, 0]
    assert code_and_order(bag) == ("issued", "ready_for_pickup")

    # The same code again: only what is left is offered, what was taken is shown as taken.
    look_up(page, bag.code.code)
    rows = page.get_by_test_id("preview").locator("tbody tr")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("1")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("0")
    page.get_by_text("Hand over only some items").click()
    expect(page.get_by_test_id(f"qty-{apples.id}")).to_have_value("2")
    expect(page.get_by_test_id(f"qty-{apples.id}")).to_have_attribute("max", "2")
    expect(page.get_by_test_id(f"qty-{milk.id}")).to_have_value("2")
    for line in (apples, milk):
        left = page.get_by_role("spinbutton", name=f"{line.product_name} {line.product_spec} (left: 2)")
        expect(left).to_be_visible()

    # The customer comes back for the rest: the big button hands over everything left.
    page.get_by_test_id("confirm").click()
    expect(result).to_contain_text("Handed over")
    expect(result).not_to_contain_text("Partly")
    expect(handed_over(page)).to_have_text(
        [re.compile(rf"{apples.product_name}.*× 2$"), re.compile(rf"{milk.product_name}.*× 2$")]
    )
    expect(page.get_by_test_id("still-waiting")).to_have_count(0)
    assert taken(bag) == [3, 2]
    assert code_and_order(bag) == ("redeemed", "completed")

    page.get_by_test_id("code-input").fill(bag.code.code)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("result-bad")).to_have_attribute("data-error-code", "already_redeemed")


def test_taking_every_remaining_unit_through_the_panel_completes_the_order(live_server, pages, bags):
    bag = bags.make(quantities=(2, 1))
    apples, milk = items_of(bag.order)
    page = pages.open(phone=False)
    log_in(page, live_server, bag.staff.phone)
    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    page.get_by_test_id(f"qty-{milk.id}").fill("0")
    page.get_by_test_id("confirm-partial").click()
    expect(page.get_by_test_id("result-ok")).to_contain_text("Partly handed over")

    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    expect(page.get_by_test_id(f"qty-{apples.id}")).to_have_count(0)  # nothing of it is left
    page.get_by_test_id("confirm-partial").click()

    expect(page.get_by_test_id("result-ok")).to_contain_text("Handed over")
    expect(handed_over(page)).to_have_text([re.compile(rf"{milk.product_name}.*× 1$")])
    assert taken(bag) == [2, 1]
    assert code_and_order(bag) == ("redeemed", "completed")


def test_asking_for_more_than_is_left_hands_nothing_over(live_server, pages, bags):
    bag = bags.make(quantities=(3, 2))
    apples, _milk = items_of(bag.order)
    page = pages.open(phone=True)
    log_in(page, live_server, bag.staff.phone)
    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    quantity = page.get_by_test_id(f"qty-{apples.id}")
    quantity.fill("4")
    page.get_by_test_id("confirm-partial").click()

    # The browser holds the form back on the field's max: still the preview, nothing handed over.
    assert quantity.evaluate("input => input.validity.rangeOverflow")
    expect(page.get_by_test_id("preview")).to_be_visible()
    assert taken(bag) == [0, 0]
    assert code_and_order(bag) == ("issued", "ready_for_pickup")


def test_enter_in_a_quantity_box_hands_over_only_those_quantities(live_server, pages, bags):
    # Regression: Enter in a box once submitted the big "everything" button of the same form.
    bag = bags.make(quantities=(3, 2))
    apples, milk = items_of(bag.order)
    page = pages.open(phone=True)
    log_in(page, live_server, bag.staff.phone)
    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    page.get_by_test_id(f"qty-{apples.id}").fill("1")
    page.get_by_test_id(f"qty-{milk.id}").fill("0")
    page.get_by_test_id(f"qty-{milk.id}").press("Enter")
    expect(page.get_by_test_id("result-ok")).to_contain_text("Partly handed over")
    assert taken(bag) == [1, 0]
    # The preview of the rest shows what is left to hand over, not the original quantity.
    look_up(page, bag.code.code)
    expect(page.get_by_test_id(f"hand-over-{apples.id}")).to_have_text("2")


def test_all_zero_quantities_say_what_to_do_and_hand_nothing_over(live_server, pages, bags):
    bag = bags.make(quantities=(2, 1))
    apples, milk = items_of(bag.order)
    page = pages.open(phone=True)
    log_in(page, live_server, bag.staff.phone)
    look_up(page, bag.code.code)
    page.get_by_text("Hand over only some items").click()
    page.get_by_test_id(f"qty-{apples.id}").fill("0")
    page.get_by_test_id(f"qty-{milk.id}").fill("0")
    page.get_by_test_id("confirm-partial").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("at least one")
    assert taken(bag) == [0, 0]
