"""What the half-sample intervals cost, with and without the engines' batched resample route.

    .venv/bin/python bench/intervals.py --n 5000          # 2 x 5,000 rows, 1,280 dims
    .venv/bin/python bench/intervals.py --n 2000 --whole 0

Synthetic features shaped like an encoder's (64 latent factors mixed into 1,280 dimensions plus
noise; B's factors shifted, so the k-NN and kernel scores sit inside their ranges). For each
engine with a batched route (:attr:`semsim.metrics.PairEngine.resamples`) the same
``--replicates`` half-samples are evaluated in one pass and one engine call each (the latter
timed on ``--one-by-one`` of them and scaled; sliced from the pooled Gram matrix, computed
beforehand, when it fits: below about 5,800 pooled rows, the route a compare takes for fewer than
``MIN_BATCHED_SPLITS`` resamples), and the largest difference between the two is printed. Then, with ``--whole`` > 0, all of ``compare_scores`` (every score, intervals and noise
floors) runs with the batched routes and with every resample evaluated one by one: wall time of
each stage, and whether every value and interval is the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENGINES = ("cmmd", "content_similarity", "precision")  # precision: the PRDC engine


def features(n: int, dim: int, shift: float, rng: np.random.Generator, mix: np.ndarray):
    x = (rng.normal(size=(n, mix.shape[0])) + shift) @ mix + 0.3 * rng.normal(size=(n, dim))
    return x.astype(np.float32)


def loop_every_resample(pooled_class: type) -> None:
    """Make :meth:`Pooled.evaluate_many` loop over the splits (every batched route off)."""
    pooled_class.evaluate_many = lambda self, engine, splits: [
        self.evaluate(engine, ia, ib) for ia, ib in splits
    ]


def _numbers(result) -> list[float]:
    """A score's value and interval as floats (NaN where there is none)."""
    ci = result.ci if result.ci is not None else (None, None)
    return [np.nan if v is None else float(v) for v in (result.value, *ci)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=5000, help="rows a side")
    p.add_argument("--dim", type=int, default=1280)
    p.add_argument("--replicates", type=int, default=50)
    p.add_argument("--one-by-one", type=int, default=5, help="replicates timed one by one")
    p.add_argument("--whole", type=int, default=1, help="also time compare_scores (0: no)")
    p.add_argument("--record", action="store_true", help="write docs/generated/bench_intervals")
    args = p.parse_args()

    from semsim import metrics
    from semsim.analysis import compare_scores, resample
    from semsim.features import Features

    start_load = os.getloadavg()[0]
    print(f"load average {start_load:.2f} at the start; {os.cpu_count()} cores")
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(64, args.dim)) / 8
    xa, xb = features(args.n, args.dim, 0.0, rng, mix), features(args.n, args.dim, 0.15, rng, mix)
    pooled = resample.Pooled(xa, xb)
    if len(pooled.x) ** 2 <= resample.MAX_POOLED_GRAM:
        pooled._blocks()  # a compare computes it once for every engine: not timed here either
    half = args.n // 2
    splits = [
        (np.sort(rng.choice(args.n, half, replace=False)),
         args.n + np.sort(rng.choice(args.n, half, replace=False)))
        for _ in range(args.replicates)
    ]  # fmt: skip
    rows = []
    for name in ENGINES:
        engine = metrics.get_score(name).engine()
        t = time.perf_counter()
        batched = engine.resamples(pooled.x, splits)
        t_batched = time.perf_counter() - t
        t = time.perf_counter()
        each = [pooled.evaluate(engine, ia, ib) for ia, ib in splits[: args.one_by_one]]
        t_each = (time.perf_counter() - t) * args.replicates / args.one_by_one
        diff = max(
            abs(b[k] - e[k]) for b, e in zip(batched[: len(each)], each, strict=True) for k in e
        )
        rows.append([engine.name, f"{t_each:.1f} s", f"{t_batched:.1f} s",
                     f"{t_each / t_batched:.1f}x", f"{diff:.1e}"])  # fmt: skip
        print(" | ".join(rows[-1]), flush=True)
    tables = {
        "engines": {
            "columns": ["engine", "one call a replicate", "batched", "ratio", "largest diff"],
            "align": "lrrrr",
            "rows": rows,
        }
    }
    if args.whole:
        a = Features(xa, None, None, content=xa[:, ::-1].copy(), rendering=xa[:, :17].copy())
        b = Features(xb, None, None, content=xb[:, ::-1].copy(), rendering=xb[:, :17].copy())
        runs = {}
        for label in ("batched", "one by one"):
            if label == "one by one":
                loop_every_resample(resample.Pooled)
            timings: dict[str, float] = {}
            t = time.perf_counter()
            out = compare_scores(a, b, None, n_bootstrap=args.replicates, timings=timings)
            runs[label] = (time.perf_counter() - t, timings, out)
            print(f"compare_scores, {label}: {runs[label][0]:.1f} s {timings}", flush=True)
        loop = runs["one by one"][2]
        same = all(
            np.allclose(_numbers(r), _numbers(loop[k]), rtol=1e-9, atol=1e-12, equal_nan=True)
            for k, r in runs["batched"][2].items()
        )  # fmt: skip
        whole = []
        for stage in ("values_s", "intervals_s", "noise_floors_s"):
            whole.append([stage.removesuffix("_s").replace("_", " "),
                          *(f"{runs[x][1].get(stage, 0.0):.1f} s" for x in ("one by one", "batched"))])  # fmt: skip
        whole.append(["**total**", *(f"**{runs[x][0]:.1f} s**" for x in ("one by one", "batched"))])
        tables["compare_scores"] = {
            "columns": ["compare_scores stage", "one call a replicate", "batched"],
            "align": "lrr",
            "rows": whole,
        }
        print(f"every value and interval the same (to 1e-9): {same}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.record:
        from docs.measured import record

        path = record(
            "bench_intervals",
            tables=tables,
            note=f" 2 x {args.n:,} synthetic rows of {args.dim:,} dimensions, "
            f"{args.replicates} half-samples. Load average {start_load:.1f} at the start.",
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
