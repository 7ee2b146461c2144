"""The headline figures: one row per figure with its baseline, as a table, JSON and BENCHMARKS.md.

Each benchmark module's `headline(result)` gives rows `{name: {value, unit, baseline,
baseline_label, target, met}}`; here the ratio is added (value ÷ baseline, whatever the unit, so a
throughput ratio below 1 and a latency ratio above 1 both mean slower than the baseline) and the
rows are written where issue #6 asks: `bench/results.json` and `BENCHMARKS.md`.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_JSON = ROOT / "bench" / "results.json"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
FIELDS = ("value", "unit", "baseline", "ratio", "target", "met")


def with_ratios(rows: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for name, row in rows.items():
        value, baseline = row.get("value"), row.get("baseline")
        ratio = round(value / baseline, 3) if value is not None and baseline else None
        out[name] = {**row, "ratio": ratio}
    return out


def _number(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _met(met: bool | None) -> str:
    return "–" if met is None else "yes" if met else "NO"


def table(rows: dict[str, dict]) -> list[list[str]]:
    """Header and one row of cells per figure."""
    cells = [["figure", "value", "baseline", "ratio", "target", "met", "baseline is"]]
    for name, row in rows.items():
        unit = row.get("unit", "")
        cells.append(
            [
                name,
                f"{_number(row.get('value'))} {unit}".strip(),
                f"{_number(row['baseline'])} {unit}".strip() if row.get("baseline") is not None else "–",
                f"{row['ratio']:.2f}×" if row.get("ratio") is not None else "–",
                row.get("target") or "–",
                _met(row.get("met")),
                row.get("baseline_label") or "",
            ]
        )
    return cells


def render(rows: dict[str, dict]) -> str:
    cells = table(rows)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]) - 1)]
    lines = []
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(cells[0][-1]))
    return "\n".join(line.rstrip() for line in lines)


def markdown(rows: dict[str, dict], results: dict, details: str) -> str:
    info = results["machine"]
    cells = table(rows)
    head = "| " + " | ".join(cells[0]) + " |"
    rule = "|" + "|".join("---" for _ in cells[0]) + "|"
    body = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells[1:]]
    return "\n".join(
        [
            "# Benchmarks",
            "",
            f"Measured {results['generated_at']} by `make bench` on {info['cpus']} CPUs ({info['platform']}),"
            f" Python {info['python']}, SQLite {info['sqlite']}"
            + (f", PostgreSQL {info['postgresql']}" if info.get("postgresql") else "")
            + f"; load average at the start {info['load_average_1min']:.2f}. Every figure stands beside a"
            " baseline measured in the same run; ratio = value ÷ baseline. The load generator shares the"
            " machine's CPUs with the servers it loads.",
            "",
            head,
            rule,
            *body,
            "",
            "## Details",
            "",
            "```text",
            details,
            "```",
            "",
        ]
    )


def write(rows: dict[str, dict], results: dict, details: str, *, json_path: Path, md_path: Path | None) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    shaped = {name: {field: row.get(field) for field in FIELDS} for name, row in rows.items()}
    json_path.write_text(json.dumps(shaped, indent=2, ensure_ascii=False) + "\n")
    if md_path is not None:
        md_path.write_text(markdown(rows, results, details) + kept_notes(md_path))


NOTES_HEADING = "## Notes"


def kept_notes(md_path: Path) -> str:
    """What people wrote under "## Notes" at the end of BENCHMARKS.md (comparisons between runs,
    what changed): a new run replaces the figures and keeps the notes."""
    if not md_path.is_file():
        return ""
    text = md_path.read_text()
    at = text.find("\n" + NOTES_HEADING + "\n")
    return "\n" + text[at + 1 :].rstrip() + "\n" if at >= 0 else ""
