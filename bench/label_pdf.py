"""Figure (a): one batch's label PDF, beside the raw QR-encoding rate of the same codes.

The batch is real: orders placed, paid, closed and arrived through the services, so every label
carries a signed pickup-code payload. Each run is the whole of `labels.batch_labels_pdf` (query,
sign, render, write the file) on a fresh session; the first run in the process also loads the CJK
font and is reported apart. The baseline encodes the same payloads to QR matrices with the
`qrcode` library as the label code used to (best-fit version, mask 0), and with the encoder the
labels use now (the same matrices); each is the median of as many passes as PDF runs.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path

import qrcode

from app.extensions import db
from app.models import DeliveryBatch
from app.services.deliveries import labels
from app.services.deliveries.label_layouts import qr_matrix
from bench import data


def _qrcode_library_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def _encode_rate(encode, payloads: list[str], runs: int) -> dict:
    """The median time of `runs` passes encoding every payload, and the rate it gives."""
    passes = []
    for _ in range(runs):
        started = time.perf_counter()
        for text in payloads:
            encode(text)
        passes.append(time.perf_counter() - started)
    seconds = statistics.median(passes)
    return {"codes": len(payloads), "runs": runs, "seconds": seconds, "codes_per_s": len(payloads) / seconds}


def run(work: Path, *, count: int = 500, runs: int = 5, layout: str = labels.DEFAULT_LAYOUT) -> dict:
    """Seed a batch of `count` waiting bags; time its label PDF `runs` times and the QR baselines."""
    app = data.bench_app(work / "labels-app")
    with app.app_context():
        shelf = data.arrived_batch(count)
        timings, sizes, digests = [], set(), set()
        first = None
        for n in range(runs + 1):
            db.session.remove()
            batch = db.session.get(DeliveryBatch, shelf.batch_id)
            started = time.perf_counter()
            path = labels.batch_labels_pdf(batch, layout)
            seconds = time.perf_counter() - started
            content = path.read_bytes()
            sizes.add(len(content))
            digests.add(hashlib.sha256(content).hexdigest())
            if n == 0:
                first = seconds  # font loading and per-process caches: reported, not in the median
            else:
                timings.append(seconds)
        # The same payloads the labels carry, signed once more as the label code does.
        payloads = [label.qr_text for label in labels.batch_label_data(db.session.get(DeliveryBatch, shelf.batch_id))]
        qrcode_library = _encode_rate(_qrcode_library_matrix, payloads, runs)
        labels_encoder = _encode_rate(qr_matrix, payloads, runs)
        db.session.remove()
        db.engine.dispose()
    return {
        "labels": len(payloads),
        "layout": layout,
        "runs": runs,
        "median_s": statistics.median(timings),
        "min_s": min(timings),
        "max_s": max(timings),
        "first_run_s": first,
        "pdf_bytes": sizes.pop() if len(sizes) == 1 else sorted(sizes),
        "byte_identical_runs": len(digests) == 1,
        "pdf_sha256": sorted(digests)[0],
        "baseline_qrcode_library": qrcode_library,
        "labels_qr_encoder": labels_encoder,
    }


def headline(result: dict) -> dict[str, dict]:
    """The batch PDF beside raw QR encoding of the same codes with the qrcode library."""
    from bench.report import LABEL_PDF_TARGET_LABELS, LABEL_PDF_TARGET_S, labels_met

    return {
        f"labels_{result['labels']}_pdf": {
            "value": round(result["median_s"], 3),
            "unit": "s",
            "baseline": round(result["baseline_qrcode_library"]["seconds"], 3),
            "baseline_label": f"raw QR encoding of the same {result['labels']} codes (qrcode library)",
            "target": f"≤ {LABEL_PDF_TARGET_S:g} s for {LABEL_PDF_TARGET_LABELS}",
            "met": labels_met(result),
        }
    }
