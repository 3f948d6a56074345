"""Agreement of the CIFAR-10 class matrices with how often people confuse the classes (CIFAR-10H).

CIFAR-10H (Peterson, Battleday, Griffiths & Russakovsky, ICCV 2019,
https://arxiv.org/abs/1908.07086; data https://github.com/jcpeterson/cifar-10h, CC BY-SA 4.0) holds
about 50 people's labels for every image of the CIFAR-10 test set: `data/cifar10h-counts.npy`,
10,000 x 10 counts. This script reads that file (it downloads nothing: pass its path), turns it
into a symmetric class x class confusion (for classes i and j, the mean of the share of i's images
people called j and of j's images they called i; an image's class is its majority label, which is
CIFAR-10's label for all but a handful and moves no vote out of its pair), then runs the real
`semsim compare` on one collection, `--n` CIFAR-10 test images a class (drawn at random, `a.seed`),
once per seed, and prints, for every class matrix of the report, Spearman's rho and Kendall's tau
of its 45 class pairs against the people's confusion in each draw, and the pairs each ranks first
(first draw).

Usage: python bench/human.py --root CIFAR10_DIR --cifar10h cifar10h-counts.npy [--n 300]
           [--seeds 0,1,2] [--runtime openvino] [--out-dir DIR] [--record]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SCORES = ["content_similarity", "appearance", "concept_similarity", "prototype_cosine", "fd",
          "indistinguishability", "c2st"]  # fmt: skip


def human_confusion(counts: np.ndarray) -> np.ndarray:
    """Symmetric 10 x 10 confusion of people: (P[i, j] + P[j, i]) / 2, P[i] the share of the
    votes on class i's images given to each class."""
    if counts.ndim != 2 or counts.shape[1] != len(CLASSES):
        raise ValueError(f"CIFAR-10H counts must be N x 10, got {counts.shape}")
    label = counts.argmax(axis=1)
    votes = np.stack([counts[label == i].sum(axis=0) for i in range(len(CLASSES))]).astype(float)
    p = votes / votes.sum(axis=1, keepdims=True)
    return (p + p.T) / 2


def pairs(m: np.ndarray) -> np.ndarray:
    return m[np.triu_indices(len(m), 1)]


def agreement(matrix: np.ndarray, people: np.ndarray, higher: bool) -> tuple[float, float]:
    x = pairs(matrix) if higher else -pairs(matrix)
    return float(spearmanr(x, pairs(people))[0]), float(kendalltau(x, pairs(people))[0])


def top(matrix: np.ndarray, higher: bool, k: int = 4) -> str:
    iu = np.triu_indices(len(matrix), 1)
    order = np.argsort(-matrix[iu] if higher else matrix[iu], kind="stable")[:k]
    return ", ".join(f"{CLASSES[iu[0][t]]}/{CLASSES[iu[1][t]]}" for t in order)


def run_compare(root: Path, n: int, seed: int, runtime: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "semsim.compare", "a=cifar10", f"a.root={root}", "a.split=test",
           f"a.max_per_class={n}", f"a.seed={seed}", f"runtime={runtime}", f"out_dir={out}",
           "matrix_scores=[" + ",".join(SCORES) + "]"]  # fmt: skip
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads((out / "report.json").read_text())


def matrix_of(report: dict, name: str) -> tuple[np.ndarray, bool] | None:
    # a distance's matrix is keyed by the encoder too (``fd_effnet_lite0``)
    keys = [k for k in report["matrices"] if k == name or k.startswith(f"{name}_")]
    if not keys:
        return None
    m = report["matrices"][keys[0]]
    order = [m["labels"].index(c) for c in CLASSES]
    vals = np.array([[np.nan if v is None else v for v in row] for row in m["values"]], float)
    return vals[np.ix_(order, order)], bool(m.get("higher_is_more_similar", True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, type=Path, help="CIFAR-10 folder (test/<class>/)")
    p.add_argument("--cifar10h", required=True, type=Path, help="cifar10h-counts.npy")
    p.add_argument("--n", type=int, default=300, help="test images a class in the compare")
    p.add_argument("--runtime", default="auto")
    p.add_argument("--seeds", default="0,1,2", help="one draw of the images per seed")
    p.add_argument("--out-dir", type=Path, default=None, help="keep the reports here (DIR/seedS)")
    p.add_argument("--record", action="store_true", help="write docs/generated/human_cifar10h")
    args = p.parse_args(argv)
    if not args.cifar10h.is_file():
        p.error(f"--cifar10h {args.cifar10h}: no such file (cifar10h-counts.npy from "
                "https://github.com/jcpeterson/cifar-10h, data/)")  # fmt: skip
    counts = np.load(args.cifar10h)
    people = human_confusion(counts)
    t0 = time.time()
    seeds = [int(x) for x in args.seeds.split(",")]
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="semsim_human_"))
    reports = [run_compare(args.root.resolve(), args.n, s, args.runtime, out / f"seed{s}")
               for s in seeds]  # fmt: skip
    rows = []
    values = {"n": str(args.n), "draws": str(len(seeds)), "people_top": top(people, True)}
    for name in SCORES:
        got = [matrix_of(r, name) for r in reports]
        if any(g is None for g in got):
            continue
        rhos, taus = zip(*(agreement(m, people, higher) for m, higher in got), strict=True)
        rows.append([f"`{name}`", " / ".join(f"{r:.2f}" for r in rhos),
                     " / ".join(f"{t:.2f}" for t in taus), top(*got[0])])  # fmt: skip
        lo, hi = f"{min(rhos):.2f}", f"{max(rhos):.2f}"
        values[f"rho_{name}"] = lo if lo == hi else f"{lo}-{hi}"
    rows.append(["people (CIFAR-10H)", "1", "1", values["people_top"]])
    cols = ["class matrix", "Spearman rho (each draw)", "Kendall tau (each draw)",
            "first four pairs (first draw)"]  # fmt: skip
    print(f"{args.n} CIFAR-10 test images a class, {len(seeds)} draws (seeds {args.seeds}); "
          "45 class pairs against CIFAR-10H's confusion")  # fmt: skip
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"({time.time() - t0:.0f} s)")
    if args.record:
        sys.path.insert(0, str(ROOT))
        from docs.measured import record

        record("human_cifar10h", values=values, tables={"agreement": {"columns": cols,
               "rows": rows}}, note=f"the default compare of {args.n} CIFAR-10 test images a "
               f"class, drawn with seeds {args.seeds}; people: CIFAR-10H's votes on all 10,000 "
               "test images")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
