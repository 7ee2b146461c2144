import pytest

from app.services.core.errors import BadSignature
from app.services.pickup import codes


def test_codes_are_eight_digits():
    for _ in range(50):
        code = codes.new_code()
        assert len(code) == 8 and code.isdigit()


def test_issue_code_is_idempotent_per_order(app, make_product, make_window, make_point, make_order):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    first = codes.issue_code(order)
    assert codes.issue_code(order).id == first.id


def test_qr_payload_verifies_and_forgeries_do_not(app, make_product, make_window, make_point, make_order):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    code = codes.issue_code(order)
    text = codes.qr_text(code)
    fields = codes.verify_qr(text)
    assert fields["order_id"] == order.id and fields["code"] == code.code
    forged = text.replace(f".{code.code}.", ".12345678.")
    with pytest.raises(BadSignature):
        codes.verify_qr(forged)
    with pytest.raises(BadSignature):
        codes.verify_qr("GB1.001.1.1.12345678.0.AAAA")
    with pytest.raises(BadSignature):
        codes.verify_qr("not a code")


def test_rotated_keys_still_verify_old_labels(app, make_product, make_window, make_point, make_order):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    old = codes.qr_text(codes.issue_code(order))
    codes.rotate_key()
    assert codes.verify_qr(old)["order_id"] == order.id
    assert len(codes.public_keys()) >= 2


def test_voided_code_frees_its_number(app, make_product, make_window, make_point, make_order):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    codes.issue_code(order)
    assert codes.void_code(order.id) is True
    assert codes.void_code(order.id) is False


def test_public_keys_on_a_fresh_install_include_the_key_that_signs_the_first_qr(
    app, make_product, make_window, make_point, make_order, monkeypatch, tmp_path
):
    # A scanner may fetch its offline keys before any label was printed: it must get the key
    # that will sign, not an empty list that would make it refuse every genuine QR offline.
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    keys = codes.public_keys()
    assert len(keys) == 1
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    code = codes.issue_code(order)
    assert codes.qr_text(code).split(".")[1] in keys
    assert codes.public_keys() == keys
