"""Time `semsim.compare` on 2 x N images, cold (empty feature cache) and cached, with where the
time goes (issue #16 item 4, #17 item 2).

A takes the first N/C images of each of the C class folders under ``--root`` (sorted names) and B
the next N/C of each, so the two sides share no image; without ``--root`` (or when it is missing)
both are synthetic PNGs drawn here. Each run is a fresh process (start-up and imports included)
running the default compare (conf/compare.yaml: every score, half-sample intervals, noise floors,
the cheap class matrices, evidence, report.json/.md/.html); the second run reads the features the
first one cached. Printed per run: wall and CPU seconds (CPU of the process and its DataLoader
workers, from RUSAGE_CHILDREN), and the breakdown in wall seconds:

- start-up: interpreter, light imports, config composition (what a typo costs);
- imports: the heavy modules compare() imports once the options and folders are checked;
- features: extraction or cache read (``meta.features_s``);
- values / intervals / noise floors: the A-vs-B scores (``meta.values_s`` etc.);
- matrices (``meta.matrices_s``), evidence galleries and duplicates (``meta.evidence_s``);
- report: report.json/.md/CSV/PNG and report.html;
- other: the rest of compare() (the scores without B's duplicates, summaries, logging).

The load average is printed beside; time only on a quiet machine.

    python bench/compare.py [--n 1000] [--root /work/shared/data/cifar10/test] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = Path("/work/shared/data/cifar10/test")
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}

# runs in the child: times the phases the report's meta does not hold, prints one JSON line
DRIVER = r"""
import json, sys, time
t_start = time.perf_counter()
spent = {"report_s": 0.0}
from semsim.overrides import check_overrides
import semsim.compare as sc
cfg = check_overrides("compare", json.loads(sys.argv[1]))
import semsim.report as report_pkg
import semsim.report.html as html

def timed(fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent["report_s"] += time.perf_counter() - t
    return wrapper

t_imports = time.perf_counter()
import semsim.analysis.core, semsim.encoders, semsim.evidence, semsim.features, semsim.scale
spent["imports_s"] = time.perf_counter() - t_imports
import semsim.analysis.scores as scores_mod  # imported above with semsim.analysis.core

first = scores_mod.first_answer

def first_answer(*args, **kwargs):  # the console line with the headline: when it is printed
    spent.setdefault("headline_printed_s", time.perf_counter() - t_start)
    return first(*args, **kwargs)

scores_mod.first_answer = first_answer
report_pkg.write_report = timed(report_pkg.write_report)
html.write_html = timed(html.write_html)
t_call = time.perf_counter()
report = sc.compare(cfg)
t_end = time.perf_counter()
meta = {k: v for k, v in report.meta.items() if k.endswith("_s")}
print("BENCH " + json.dumps({
    "startup_s": t_call - t_start - spent["imports_s"], "compare_s": t_end - t_call, **spent, **meta,
    "headline": None if report.similarity is None else report.similarity.value,
}))
"""

PHASES = [
    ("start-up", "startup_s"),
    ("imports (torch, timm, ...)", "imports_s"),
    ("features", "features_s"),
    ("values", "values_s"),
    ("intervals", "intervals_s"),
    ("noise floors", "noise_floors_s"),
    ("matrices", "matrices_s"),
    ("evidence", "evidence_s"),
    ("report files", "report_s"),
]


def split_folders(root: Path, n: int, out: Path) -> tuple[Path, Path]:
    """Symlink folders A and B of n images each: per class, A the first n/C, B the next n/C."""
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise SystemExit(f"--root {root}: no class folders")
    per = max(1, n // len(classes))
    for side, offset in (("A", 0), ("B", per)):
        for c in classes:
            files = sorted(f for f in c.iterdir() if f.suffix.lower() in IMAGE_EXT)
            pick = files[offset : offset + per]
            if len(pick) < per:
                raise SystemExit(f"--root {root}: {c.name} has {len(files)} images, need {2 * per}")
            (out / side / c.name).mkdir(parents=True)
            for f in pick:
                (out / side / c.name / f.name).symlink_to(f.resolve())
    return out / "A", out / "B"


def synthetic_folders(n: int, out: Path, classes: int = 10) -> tuple[Path, Path]:
    """Synthetic 32 x 32 PNGs: per class a colour and a noise level; B a little brighter."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    per = max(1, n // classes)
    for side, shift in (("A", 0), ("B", 20)):
        for c in range(classes):
            folder = out / side / f"class{c}"
            folder.mkdir(parents=True)
            base = rng.integers(0, 200, size=3)
            for i in range(per):
                img = base + shift + rng.normal(0, 10 + 4 * c, size=(32, 32, 3))
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    return out / "A", out / "B"


def run(a: Path, b: Path, work: Path, cache: Path, tag: str, extra: list[str]) -> dict:
    overrides = [
        "a=folder", f"a.root={a}", "b=folder", f"b.root={b}", f"out_dir={work / tag}",
        f"cache_dir={cache}", "progress=false", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(overrides)],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{tag} run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH "))
    out = json.loads(line[len("BENCH ") :])
    out["wall_s"] = wall
    out["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    known = sum(out.get(k, 0.0) for _, k in PHASES)
    out["other_s"] = max(0.0, out["startup_s"] + out["imports_s"] + out["compare_s"] - known)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images per side (default 1000)")
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="class folders to draw from"
    )
    parser.add_argument("--synthetic", action="store_true", help="synthetic images, not --root")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder)")
    parser.add_argument("--record", action="store_true", help="write docs/generated/bench_compare")
    parser.add_argument("overrides", nargs="*", help="more compare overrides (key=value)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.synthetic or not args.root.is_dir():
            source = "synthetic 32 x 32 PNGs"
            a, b = synthetic_folders(args.n, work / "images")
        else:
            source = f"{args.root} (A: first n/C a class, B: the next n/C)"
            a, b = split_folders(args.root, args.n, work / "images")
        n_a = sum(1 for _ in a.rglob("*") if _.is_file() or _.is_symlink())
        load = os.getloadavg()
        load_before = load[0]
        print(f"semsim compare, 2 x {n_a} images from {source}; {os.cpu_count()} CPUs; "
              f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
        runs = {}
        for tag in ("cold", "cached"):
            runs[tag] = run(a, b, work, work / "cache", tag, args.overrides)
            load = os.getloadavg()
            print(f"  {tag}: done, load average {load[0]:.2f}", flush=True)
        print("\n| phase (wall s) | cold | cached |\n|---|---:|---:|")
        for label, key in [*PHASES, ("other", "other_s")]:
            print(
                f"| {label} | {runs['cold'].get(key, 0.0):.2f} | {runs['cached'].get(key, 0.0):.2f} |"
            )
        for label, key in (("**total wall**", "wall_s"), ("**total CPU**", "cpu_s")):
            print(f"| {label} | {runs['cold'][key]:.2f} | {runs['cached'][key]:.2f} |")
        for tag in ("cold", "cached"):
            h = runs[tag].get("headline_printed_s")
            print(f"{tag}: headline printed {h if h is None else round(h, 1)} s after the start")
        head = runs["cached"].get("headline")
        print(f"\nheadline similarity {head if head is None else round(head, 4)}; "
              f"load average after {os.getloadavg()[0]:.2f}")  # fmt: skip
        if args.record:
            record_compare(runs, n_a, source, load_before)


def record_compare(runs: dict, n: int, source: str, load_before: float) -> None:
    """docs/generated/bench_compare.json: the phase table and the two totals."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from docs.measured import record

    cold, cached = runs["cold"], runs["cached"]
    rows = [[label, f"{cold.get(key, 0.0):.1f}", f"{cached.get(key, 0.0):.1f}"]
            for label, key in [*PHASES, ("other", "other_s")]]  # fmt: skip
    rows.append(["**total wall**", f"**{cold['wall_s']:.1f}**", f"**{cached['wall_s']:.1f}**"])
    rows.append(["total CPU", f"{cold['cpu_s']:.1f}", f"{cached['cpu_s']:.1f}"])
    heads = [r.get("headline_printed_s") for r in (cold, cached)]
    rows.append(["headline printed (s after the process started)",
                 *(f"{h:.1f}" if h is not None else "-" for h in heads)])  # fmt: skip
    path = record(
        "bench_compare",
        values={
            "cold_total": f"{cold['wall_s']:.1f} s",
            "cached_total": f"{cached['wall_s']:.1f} s",
            "cached_headline": "-" if heads[1] is None else f"{heads[1]:.1f} s",
        },
        tables={
            "phases": {
                "columns": [f"phase (wall s), 2 x {n:,} images, default compare", "cold", "cached"],
                "align": "lrr",
                "rows": rows,
            }
        },  # fmt: skip
        note=f"Load average {load_before:.1f} before. Images: {source}.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
