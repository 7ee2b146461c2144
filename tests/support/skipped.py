"""The end of a test run: which groups of tests were skipped, and how to turn each on.

Tests skip (outside CI) when the machine lacks what they need; the reasons name it, and
scripts/prerequisites.py says what each piece is and how to install it. A reason no piece
claims is listed as it is, so a skip is never hidden.
"""

from __future__ import annotations

from collections import Counter

from scripts.prerequisites import PIECES, Piece


def _piece_for(reason: str) -> Piece | None:
    return next((piece for piece in PIECES if any(word in reason for word in piece.skip_words)), None)


def summary(reasons: list[str]) -> list[str]:
    """One line per group of skipped tests: how many, and what turns them on."""
    grouped: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for reason in reasons:
        piece = _piece_for(reason)
        if piece is None:
            other[reason] += 1
        else:
            grouped[piece.key] += 1
    lines = []
    for piece in PIECES:
        if grouped[piece.key]:
            then = f"; then {piece.enable}" if piece.enable else ""
            lines.append(f"{piece.group}: {grouped[piece.key]} skipped. To run them: {piece.install()}{then}")
    lines += [f"{reason}: {count} skipped" for reason, count in sorted(other.items())]
    return lines


def reason_of(report) -> str:
    """The reason a skipped test or module gave ("Skipped: " dropped)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")
