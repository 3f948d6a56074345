"""Write the experiments' numbers (docs/generated/experiment_*.json) from a run's report.json.

    PYTHONPATH=. .venv/bin/python docs/experiments.py cifar10_compare REPORT_DIR
    PYTHONPATH=. .venv/bin/python docs/experiments.py cifake_compare REPORT_DIR

``REPORT_DIR`` is the ``out_dir`` of the ``semsim compare`` command that docs/experiments.md
shows for the experiment. ``cifar10_compare`` lists each class matrix's most and least similar
class pairs; ``cifake_compare`` the A-vs-B scores with intervals and noise floors. Then
``make numbers`` (or ``python docs/measured.py sync``) refills README.md and docs/experiments.md.
The headline is read from the report (``similarity.basis``), so a new headline score needs no
change here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docs.measured import record  # noqa: E402


def fmt(v: float | None) -> str:
    """Two decimals, three below 0.1 (small values keep two significant digits)."""
    if v is None:
        return "n/a"
    return f"{v:.3f}" if abs(v) < 0.1 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def ranked_pairs(matrix: dict, higher_is_more_similar: bool, k: int = 5) -> tuple[str, str]:
    """(most similar, least similar) off-diagonal class pairs of a matrix, ``k`` each."""
    vals = matrix["values"]
    if "labels" in matrix:  # within one collection: each unordered pair once
        labels = matrix["labels"]
        cells = [(f"{labels[i]}/{labels[j]}", vals[i][j]) for i in range(len(labels))
                 for j in range(i + 1, len(labels))]  # fmt: skip
    else:  # A classes x B classes: every cell, the diagonal included
        rows, cols = matrix["row_labels"], matrix["col_labels"]
        cells = [(f"{r} x {c}", vals[i][j]) for i, r in enumerate(rows) for j, c in enumerate(cols)]
    cells = [(n, v) for n, v in cells if v is not None]
    cells.sort(key=lambda nv: nv[1], reverse=higher_is_more_similar)
    say = lambda part: ", ".join(f"{n} {fmt(v)}" for n, v in part)  # noqa: E731
    return say(cells[:k]), say(cells[::-1][:k])


def wall(report: dict) -> dict[str, str]:
    total = (report.get("meta") or {}).get("total_s")
    return {} if total is None else {"wall": f"{int(total // 60)} min {round(total % 60)} s"}


def cifar10_compare(report: dict) -> None:
    headline = (report.get("similarity") or {}).get("basis")
    rows = []
    for name, m in report["matrices"].items():
        label = (
            f"`{name}` (the headline per pair)" if name in ("similarity", headline) else f"`{name}`"
        )
        rows.append([label, *ranked_pairs(m, m.get("higher_is_more_similar", True))])
    record(
        "experiment_cifar10_compare",
        values=wall(report),
        tables={
            "pairs": {"columns": ["", "most similar pairs", "least similar pairs"], "rows": rows}
        },
        note=f"From {report.get('title') or 'the report'}: {_inputs(report)}.",
    )


def cifake_compare(report: dict) -> None:
    sim, scores = report["similarity"], report["scores"]
    rows = [[f"`similarity` = `{sim['basis']}`", scores.get(sim["basis"], {}).get("family", ""),
             f"**{fmt(sim['value'])}** {_ci(sim.get('ci'))}{_floor(scores.get(sim['basis'], {}))}"]]  # fmt: skip
    values = {"similarity": fmt(sim["value"])}
    for name, s in scores.items():
        if name == sim["basis"] or s.get("value") is None:
            continue
        rows.append(
            [f"`{name}`", s.get("family", ""), f"{fmt(s['value'])} {_ci(s.get('ci'))}{_floor(s)}"]
        )
        values[name] = fmt(s["value"])
    if scores.get("c2st", {}).get("value") is not None:
        values["c2st_acc"] = f"{100 * scores['c2st']['value']:.1f}%"
    record(
        "experiment_cifake_compare",
        values=values | wall(report),
        tables={
            "scores": {"columns": ["score", "family", "value (95% CI), noise floor"], "rows": rows}
        },
        note=f"From {_inputs(report)}.",
    )


def _ci(ci: list | None) -> str:
    return "" if not ci or None in ci else f"({fmt(ci[0])}-{fmt(ci[1])})"


def _floor(s: dict) -> str:
    return "" if s.get("noise_floor") is None else f", noise floor {fmt(s['noise_floor'])}"


def _inputs(report: dict) -> str:
    parts = [f"{k.upper()} = {v.get('name', '?')} ({v.get('n_images', '?')} images)"
             for k, v in report.get("inputs", {}).items()]  # fmt: skip
    return ", ".join(parts) or "the report"


WRITERS = {"cifar10_compare": cifar10_compare, "cifake_compare": cifake_compare}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(WRITERS))
    p.add_argument("report_dir", type=Path, help="folder holding report.json")
    args = p.parse_args(argv)
    path = args.report_dir / "report.json"
    if not path.is_file():
        print(
            f"error: {path} does not exist (give the out_dir of the compare run)", file=sys.stderr
        )
        return 2
    WRITERS[args.name](json.loads(path.read_text("utf-8")))
    print(
        f"wrote docs/generated/experiment_{args.name}.json; now `make numbers` to refill the pages"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
