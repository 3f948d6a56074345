"""Write the experiments' numbers (docs/generated/experiment_*.json) from a run's report.json.

    PYTHONPATH=. .venv/bin/python docs/experiments.py cifar10_compare REPORT_DIR
    PYTHONPATH=. .venv/bin/python docs/experiments.py cifake_compare REPORT_DIR
    PYTHONPATH=. .venv/bin/python docs/experiments.py cifar10_cpu RUN_DIR
    PYTHONPATH=. .venv/bin/python docs/experiments.py cifake_cpu RUN_DIR

``REPORT_DIR`` is the ``out_dir`` of the ``semsim compare`` command that docs/experiments.md
shows for the experiment. ``cifar10_compare`` lists each class matrix's most and least similar
class pairs; ``cifake_compare`` the A-vs-B scores with intervals and noise floors. For a training
run, ``RUN_DIR`` is its Hydra run folder: the test and validation metrics come from
``optimized_metric.json``, the similarity before and after training from
``similarity/<stage>/report.json``, the wall time from the first and last line of its log. Then
``make numbers`` (or ``python docs/measured.py sync``) refills README.md and docs/experiments.md.
The headline is read from the report (``similarity.basis``), so a new headline score needs no
change here.
"""

from __future__ import annotations

import argparse
import datetime as dt
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


def minutes(seconds: float) -> str:
    """``1 min 60 s`` never: whole seconds first, then minutes."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s"


def wall(report: dict) -> dict[str, str]:
    total = (report.get("meta") or {}).get("total_s")
    return {} if total is None else {"wall": minutes(total)}


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


def run_facts(run: Path) -> tuple[dict, dict[str, str]]:
    """(scalar metrics, {"wall": ...}) of a training run folder."""
    metrics = json.loads((run / "optimized_metric.json").read_text("utf-8"))["metrics"]
    stamps = []
    for log in run.glob("*.log"):
        lines = [ln for ln in log.read_text("utf-8").splitlines() if ln.startswith("[20")]
        stamps += [dt.datetime.fromisoformat(ln[1:20]) for ln in (lines[:1] + lines[-1:])]
    if len(stamps) < 2:
        return metrics, {}
    secs = (max(stamps) - min(stamps)).total_seconds()
    return metrics, {"wall": minutes(secs)}


def _pct(metrics: dict, key: str, digits: int = 1) -> str:
    return "n/a" if metrics.get(key) is None else f"{100 * metrics[key]:.{digits}f}%"


def _stage(run: Path, stage: str) -> dict | None:
    path = run / "similarity" / stage / "report.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def cifar10_cpu(run: Path) -> None:
    metrics, wall = run_facts(run)
    acc, val = _pct(metrics, "test/acc"), _pct(metrics, "val/acc_best")
    rows = [["test accuracy (the whole test split, best checkpoint)", f"**{acc}**"],
            ["best validation accuracy (carved from `train/`)", val]]  # fmt: skip
    if wall:
        rows.append(["wall time (training, testing and the similarity reports)", wall["wall"]])
    tables = {"cifar10_cpu": {"columns": ["", "value"], "rows": rows}}
    before, after = _stage(run, "pretrained"), _stage(run, "test")
    if before and after and "prototype_cosine" in before["matrices"]:
        cols = [before["matrices"]["prototype_cosine"], after["matrices"]["prototype_cosine"]]
        tables["finetune"] = {
            "columns": ["", "ImageNet weights (before)", "fine-tuned (after)"],
            "rows": [
                ["mean off-diagonal cosine", *(fmt(_mean_off(m)) for m in cols)],
                ["most similar", *(ranked_pairs(m, True, 3)[0] for m in cols)],
                ["least similar", *(ranked_pairs(m, True, 2)[1] for m in cols)],
            ],
        }
    record(
        "experiment_cifar10_cpu",
        values={"test_acc": acc, "val_acc_best": val} | wall,
        tables=tables,
        note=f"From the run folder {run.name}: optimized_metric.json, similarity/*/report.json.",
    )


def cifake_cpu(run: Path) -> None:
    metrics, wall = run_facts(run)
    acc = _pct(metrics, "test/acc", 2)
    rows = [["test accuracy (held-out images of CIFAKE train)", f"**{acc}**"],
            ["test AUC / ECE", f"{metrics.get('test/auc', 0):.4f} / {metrics.get('test/ece', 0):.4f}"],
            ["best validation accuracy", _pct(metrics, "val/acc_best", 2)]]  # fmt: skip
    if wall:
        rows.append(["wall time", wall["wall"]])
    test = _stage(run, "test")
    means = ((test or {}).get("meta") or {}).get("pair_score_means") or {}
    if means:
        rows.append([f"pair score, mean over {' / '.join(k.replace('_', '-') for k in means)} pairs",
                     " / ".join(f"{v:.3f}" for v in means.values())])  # fmt: skip
    if test and test.get("scores"):  # REAL vs FAKE of the test stage, in the report's encoder
        rows.append([_realfake_case(test), _realfake_scores(test["scores"])])
    record(
        "experiment_cifake_cpu",
        values={"test_acc": acc} | wall,
        tables={"cifake_cpu": {"columns": ["", "value"], "rows": rows}},
        note=f"From the run folder {run.name}: optimized_metric.json, similarity/test/report.json.",
    )


def _realfake_case(report: dict) -> str:
    enc, ins = report.get("encoder") or {}, report.get("inputs") or {}
    n = " + ".join(str(ins[w].get("n_images", "?")) for w in ("a", "b") if ins.get(w))
    return (f"REAL vs FAKE in the run's report encoder, `{enc.get('key', enc.get('name', '?'))}` @"
            f"{enc.get('image_size', '?')} px ({n} test images; the training run's test stage)")  # fmt: skip


def _realfake_scores(scores: dict) -> str:
    """The two headlines, the C2ST and the Fréchet distance with intervals and noise floors."""
    parts = []
    for name in ("content_similarity", "appearance", "indistinguishability"):
        if scores.get(name, {}).get("value") is not None:
            s = scores[name]
            parts.append(f"`{name}` {fmt(s['value'])} {_ci(s.get('ci'))}")
    if scores.get("c2st", {}).get("value") is not None:
        parts[-1] += f" (C2ST accuracy {fmt(scores['c2st']['value'])})"
    for name, s in scores.items():
        if name.startswith("fd_") and s.get("value") is not None:
            parts.append(f"`{name}` {fmt(s['value'])} {_ci(s.get('ci'))}{_floor(s)}")
    for name in ("precision", "recall"):
        if scores.get(name, {}).get("value") is not None:
            parts.append(f"{name} {fmt(scores[name]['value'])}")
    return ", ".join(parts)


def _mean_off(m: dict) -> float:
    v = m["values"]
    off = [v[i][j] for i in range(len(v)) for j in range(len(v)) if i != j and v[i][j] is not None]
    return sum(off) / len(off)


WRITERS = {"cifar10_compare": cifar10_compare, "cifake_compare": cifake_compare}
RUN_WRITERS = {"cifar10_cpu": cifar10_cpu, "cifake_cpu": cifake_cpu}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(WRITERS | RUN_WRITERS))
    p.add_argument("report_dir", type=Path, help="folder holding report.json, or a run folder")
    args = p.parse_args(argv)
    if args.name in RUN_WRITERS:
        if not (args.report_dir / "optimized_metric.json").is_file():
            print(f"error: {args.report_dir} holds no optimized_metric.json (give the run folder)",
                  file=sys.stderr)  # fmt: skip
            return 2
        RUN_WRITERS[args.name](args.report_dir)
        print(f"wrote docs/generated/experiment_{args.name}.json; now `make numbers`")
        return 0
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
