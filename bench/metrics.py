"""Benchmark of semsim.metrics on synthetic Gaussian features, as ratios measured in one run.

1. Fréchet distance at d=2048, n=10,000 per set (full-rank covariances): our factor route
   (``frechet_distance_from_stats``: Cholesky factors, one product, one ``eigvalsh``) against the
   classic ``scipy.linalg.sqrtm`` formula (pytorch-fid / TTUR) and torchmetrics' ``eigvals``
   route, on the same float64 statistics (computed once, not timed): time, speed-up, relative
   difference. Also the from-data time when n < d (low-rank route vs factor route).
2. A 10 x 10 class matrix of every registered score at d=1280 with 1,000 samples a class, each
   score's time and its ratio to the Gram products of the same 10,000 features (``X @ X.T``, the
   work every pairwise kernel/distance score needs at least) timed in the same run. Scores that
   share a computation (the four PRDC scores; and fd/kid/cmmd/PRDC, which share one Gram block per
   class pair when asked together) are timed together, then each alone for the breakdown. One
   untimed warm-up call on 3 small classes comes first, so that first-call costs (lazy imports,
   the allocator) are not counted as matrix work.

Usage: ``.venv/bin/python bench/metrics.py [--quick] [--check]`` (``--quick``: small sizes,
seconds; ``--check``: also compare the shared-block matrices with the per-pair route).
Timings are wall-clock; the load average is printed and a load over 2.5 is flagged, since a
loaded machine distorts the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy.linalg
import torch

from semsim.metrics import (
    SCORES,
    class_matrices,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
)

T = TypeVar("T")
PRDC = ("precision", "recall", "density", "coverage")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def gaussian_features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """Independent Gaussian features with a decaying spectrum (var 1 / (1 + i), like CNN features)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) / np.sqrt(1.0 + np.arange(d)) + shift


def fd_sqrtm(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """pytorch-fid's formula: scipy sqrtm of S1 S2, real part, eps offset if not finite."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fd_torchmetrics(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    from torchmetrics.image.fid import _compute_fid

    return float(_compute_fid(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))))


def bench_fd(d: int, n: int, n_small: int) -> dict[str, float]:
    print(f"== Fréchet distance, d={d}, n={n} per set (full-rank covariances), float64")
    (x, y), t_gen = timed(lambda: (gaussian_features(n, d, 0), gaussian_features(n, d, 1, 0.01)))
    (st1, st2), t_stats = timed(lambda x=x, y=y: (gaussian_stats(x), gaussian_stats(y)))
    print(
        f"  features {t_gen:.1f} s, mean/cov of both sets {t_stats:.1f} s (not in the times below)"
    )
    ours, t_ours = timed(lambda: frechet_distance_from_stats(*st1, *st2))
    ref, t_ref = timed(lambda: fd_sqrtm(*st1, *st2))
    tm, t_tm = timed(lambda: fd_torchmetrics(*st1, *st2))
    print(f"  ours (factor route)    {t_ours:7.2f} s   FD = {ours:.10g}")
    print(f"  scipy sqrtm route      {t_ref:7.2f} s   FD = {ref:.10g}")
    print(f"  torchmetrics eigvals   {t_tm:7.2f} s   FD = {tm:.10g}")
    err = abs(ours - ref) / abs(ref)
    print(f"  speed-up vs sqrtm: {t_ref / t_ours:.1f}x (target >= 10x); relative difference vs "
          f"sqrtm {err:.2e} (target <= 1e-6), vs torchmetrics {abs(ours - tm) / abs(tm):.2e}")  # fmt: skip
    del x, y
    xs, ys = gaussian_features(n_small, d, 4), gaussian_features(n_small, d, 5, 0.01)
    low, t_low = timed(lambda: frechet_distance(xs, ys, route="lowrank"))
    eig, t_eig = timed(lambda: frechet_distance(xs, ys, route="eig"))
    print(f"  from data, n={n_small} < d: low-rank route {t_low:.2f} s, factor route {t_eig:.2f} s "
          f"(incl. covariances), relative difference {abs(low - eig) / eig:.2e}")  # fmt: skip
    rows = [
        ["semsim factor route", f"{t_ours:.2f} s", f"**{t_ref / t_ours:.1f}x**", f"{err:.1e}"],
        ["scipy `sqrtm`", f"{t_ref:.2f} s" if t_ref < 10 else f"{t_ref:.1f} s", "1", "—"],
        ["torchmetrics `eigvals`", f"{t_tm:.2f} s", f"{t_ref / t_tm:.1f}x",
         f"{abs(ours - tm) / abs(tm):.1e} (vs ours)"],
    ]  # fmt: skip
    values = {"fd_speedup": f"{t_ref / t_ours:.1f}x", "fd_time": f"{t_ours:.2f} s",
              "sqrtm_time": rows[1][1], "lowrank_time": f"{t_low:.2f} s",
              "lowrank_cov_time": f"{t_eig:.2f} s"}  # fmt: skip
    return {"values": values, "rows": rows}


def bench_class_matrix(d: int, n_per_class: int, classes: int, check: bool) -> dict[str, float]:
    print(f"== {classes} x {classes} class matrix, d={d}, {n_per_class} samples a class, "
          f"diagonal='identity'")  # fmt: skip
    rng = np.random.default_rng(2)
    # class means differ by ~0.04 standard deviations per dimension: nearby but separable classes
    centers = rng.normal(scale=0.04, size=(classes, d)) / np.sqrt(1.0 + np.arange(d))
    labels = np.repeat(np.arange(classes), n_per_class)
    x = gaussian_features(len(labels), d, 3) + centers[labels]
    _, t_gram = timed(lambda: x @ x.T)
    _, t_gram2 = timed(lambda: x @ x.T)
    t_gram = min(t_gram, t_gram2)
    print(f"  Gram products X X^T of all {len(x)} features: {t_gram:.2f} s (best of 2)")
    shared = ["fd", "kid", "cmmd", *PRDC]
    every = list(SCORES)
    # scores reading per-image rendering statistics get what compare gives them: a 16-column
    # array (semsim.features.content.RENDERING_NAMES), not the 1,280-d features
    stats_cols = 16
    shift = np.zeros((classes, stats_cols))  # the first class-mean columns (all when d < 16)
    shift[:, : min(d, stats_cols)] = centers[:, :stats_cols]
    r = gaussian_features(len(labels), stats_cols, 4) + shift[labels] * 10
    on_stats = [n for n in every if SCORES[n].input == "rendering"]
    inputs = {n: (r if n in on_stats else x) for n in every}

    def all_scores() -> dict[str, np.ndarray]:
        out = class_matrices(x, labels, [n for n in every if n not in on_stats])
        return {**out, **class_matrices(r, labels, on_stats)}

    # warm-up (not timed): first-call costs (lazy imports, allocator) are not the matrices' work
    class_matrices(x[:60], np.repeat(np.arange(3), 20), every)
    mats, total = timed(all_scores)
    ratio = lambda t: f"{t / t_gram:.2f}x"  # noqa: E731
    rows = [["Gram products `X X^T`", f"{t_gram:.2f} s", "1"],
            [f"**all {len(every)} scores, as compare runs them (one call per input array)**",
             f"{total:.1f} s", f"**{ratio(total)}**"]]  # fmt: skip
    print(f"  all {len(every)} scores, as compare runs them     {total:7.2f} s  "
          f"{total / t_gram:5.2f}x Gram (target <= 4x)")  # fmt: skip
    print("  by engine (scores sharing an engine are computed together):")
    _, t = timed(lambda: class_matrices(x, labels, shared))
    print(f"    {'+'.join(['fd', 'kid', 'cmmd', 'prdc']):27s} {t:7.2f} s  {t / t_gram:5.2f}x Gram  "
          f"(one Gram block per class pair)")  # fmt: skip
    rows.append(["fd + kid + cmmd + precision/recall/density/coverage (shared blocks)",
                 f"{t:.1f} s", ratio(t)])  # fmt: skip
    by_engine: dict[object, list[str]] = {}
    for name in every:
        if name not in shared:
            by_engine.setdefault(SCORES[name].engine, []).append(name)
    for names in by_engine.values():
        _, t = timed(lambda names=names: class_matrices(inputs[names[0]], labels, names))
        print(f"    {'+'.join(names):27s} {t:7.2f} s  {t / t_gram:5.2f}x Gram")
        rows.append([" + ".join(names), f"{t:.2f} s", ratio(t)])
    print("  each shared-block engine alone:")
    alone = []
    for names in (["fd"], ["kid"], ["cmmd"], list(PRDC)):
        _, t = timed(lambda names=names: class_matrices(x, labels, names))
        label = "prdc (4 scores)" if len(names) > 1 else names[0]
        print(f"    {label:15s} {t:7.2f} s  {t / t_gram:5.2f}x Gram")
        alone.append((label.split()[0].replace("prdc", "PRDC"), t))
    rows.insert(3, ["(each alone: " + ", ".join(f"{n} {t:.2f} s" for n, t in alone) + ")", "",
                    " / ".join(ratio(t) for _, t in alone)])  # fmt: skip
    for name, mat in mats.items():
        off = mat[~np.eye(classes, dtype=bool)]
        print(f"    {name:17s} off-diagonal range [{off.min():.4g}, {off.max():.4g}]")
    if check:
        import semsim.metrics.matrix as mx

        real = mx._fits_blocks
        mx._fits_blocks = lambda groups: False
        try:
            own, t_own = timed(lambda: class_matrices(x, labels, shared))
        finally:
            mx._fits_blocks = real
        worst = max(
            float(np.nanmax(np.abs(mats[k] - own[k]) / np.maximum(np.abs(own[k]), 1e-300)))
            for k in shared
        )
        print(f"  per-pair route (no shared blocks) {t_own:.2f} s; largest relative difference "
              f"of the shared-block matrices {worst:.2e}")  # fmt: skip
    return {"values": {"matrix_x_gram": ratio(total)}, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--check", action="store_true", help="compare with the per-pair route")
    parser.add_argument("--skip-fd", action="store_true", help="only the class matrices")
    parser.add_argument("--skip-matrix", action="store_true", help="only the Fréchet distance")
    parser.add_argument("--record", action="store_true", help="write docs/generated/bench_metrics")
    args = parser.parse_args()
    if args.record and (args.quick or args.skip_fd or args.skip_matrix):
        parser.error("--record needs the full run (no --quick, --skip-fd, --skip-matrix)")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    if load[0] > 2.5:
        print("WARNING: load average > 2.5: ratios measured now are not trustworthy")
    if args.quick:
        fd_args, mat_args = (256, 512, 128), (64, 100, 4)
    else:
        fd_args, mat_args = (2048, 10_000, 1000), (1280, 1000, 10)
    fd = None if args.skip_fd else bench_fd(*fd_args)
    mat = None if args.skip_matrix else bench_class_matrix(*mat_args, check=args.check)
    if args.record and fd and mat:
        record_metrics(fd, mat, load[0])


def record_metrics(fd: dict, mat: dict, load_before: float) -> None:
    """docs/generated/bench_metrics.json: both tables and the values the pages quote."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from docs.measured import record

    path = record(
        "bench_metrics",
        values=fd["values"] | mat["values"],
        tables={
            "fd": {
                "columns": [
                    "route",
                    "time",
                    "speed-up vs sqrtm (target >= 10x)",
                    "relative difference vs sqrtm (target <= 1e-6)",
                ],
                "align": "lrrr",
                "rows": fd["rows"],
            },
            "matrix": {
                "columns": ["scores", "time", "x Gram"],
                "align": "lrr",
                "rows": mat["rows"],
            },
        },  # fmt: skip
        note=f"Load average {load_before:.1f} at the start. Fréchet distance at d = 2048, "
        "n = 10,000 a set; class matrices at d = 1280, 1,000 samples a class.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
