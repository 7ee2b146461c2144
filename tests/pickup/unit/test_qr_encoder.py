"""The labels' fast QR encoder must give, module for module, the matrix the `qrcode` library
makes for the same text (ECC M, mask 0): a guard for when either changes. Engine-free."""

import random
import string

import pytest
import qrcode

from app.services.deliveries.label_layouts import qr_matrix


def library_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def texts() -> list[str]:
    rng = random.Random(20261122)
    signed = [
        f"GB1.{rng.randint(1, 999):03d}.{rng.randint(1, 10**9)}.{rng.randint(1, 10**6)}."
        f"{rng.randint(0, 10**8 - 1):08d}.{rng.randint(10**9, 2 * 10**9)}."
        f"{''.join(rng.choices(string.ascii_letters + string.digits + '-_', k=86))}"
        for _ in range(150)
    ]
    alphabets = (
        string.digits,
        string.digits + string.ascii_uppercase + " $%*+-./:",
        string.printable,
        "取货码团购自提点",
    )
    mixed = [
        "".join(rng.choices(rng.choice(alphabets), k=rng.choice((1, 7, 25, 60, 140, 300, 700)))) for _ in range(150)
    ]
    return [*signed, *mixed, "", "0", "A", "12345678"]


@pytest.mark.parametrize("chunk", range(4))
def test_fast_encoder_matches_the_qrcode_library_module_for_module(chunk):
    for text in texts()[chunk::4]:
        assert qr_matrix(text) == library_matrix(text), text[:60]
