"""Benchmark of semsim.metrics on synthetic Gaussian features.

1. Fréchet distance at d=2048: our eigen route (``frechet_distance_from_stats``) against the
   classic ``scipy.linalg.sqrtm`` formula (pytorch-fid / TTUR) and torchmetrics' ``eigvals``
   route, on the same float64 statistics: time, ratio, relative agreement. Also the from-data time
   when n < d (low-rank route).
2. A 10 x 10 class matrix of every registered score at d=1280 with 1,000 samples a class (the four
   PRDC scores come out of one computation and are timed together).

Usage: ``.venv/bin/python bench/metrics.py [--quick]`` (``--quick``: small sizes, seconds).
Timings are wall-clock on whatever else the machine is running; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
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


def bench_fd(d: int, n: int, n_small: int) -> None:
    print(f"== Fréchet distance, d={d}, n={n} per set (full-rank covariances), float64")
    (x, y), t_gen = timed(lambda: (gaussian_features(n, d, 0), gaussian_features(n, d, 1, 0.01)))
    (st1, st2), t_stats = timed(lambda: (gaussian_stats(x), gaussian_stats(y)))
    print(
        f"  features {t_gen:.1f} s, mean/cov of both sets {t_stats:.1f} s (not in the times below)"
    )
    ours, t_ours = timed(lambda: frechet_distance_from_stats(*st1, *st2))
    ref, t_ref = timed(lambda: fd_sqrtm(*st1, *st2))
    tm, t_tm = timed(lambda: fd_torchmetrics(*st1, *st2))
    print(f"  ours (eigh route)      {t_ours:7.2f} s   FD = {ours:.10g}")
    print(f"  scipy sqrtm route      {t_ref:7.2f} s   FD = {ref:.10g}")
    print(f"  torchmetrics eigvals   {t_tm:7.2f} s   FD = {tm:.10g}")
    print(f"  speed-up vs sqrtm: {t_ref / t_ours:.1f}x; relative difference vs sqrtm "
          f"{abs(ours - ref) / abs(ref):.2e}, vs torchmetrics {abs(ours - tm) / abs(tm):.2e}")  # fmt: skip
    xs, ys = x[:n_small], y[:n_small]
    low, t_low = timed(lambda: frechet_distance(xs, ys, route="lowrank"))
    eig, t_eig = timed(lambda: frechet_distance(xs, ys, route="eig"))
    print(f"  from data, n={n_small} < d: low-rank route {t_low:.2f} s, eigen route {t_eig:.2f} s "
          f"(incl. covariances), relative difference {abs(low - eig) / eig:.2e}")  # fmt: skip


def bench_class_matrix(d: int, n_per_class: int, classes: int) -> None:
    print(f"== {classes} x {classes} class matrix, d={d}, {n_per_class} samples a class, "
          f"diagonal='identity'")  # fmt: skip
    rng = np.random.default_rng(2)
    # class means differ by ~0.04 standard deviations per dimension: nearby but separable classes
    centers = rng.normal(scale=0.04, size=(classes, d)) / np.sqrt(1.0 + np.arange(d))
    labels = np.repeat(np.arange(classes), n_per_class)
    x = gaussian_features(len(labels), d, 3) + centers[labels]
    groups = [[n] for n in SCORES if n not in PRDC] + [list(PRDC)]
    total = 0.0
    for names in groups:
        mats, t = timed(lambda names=names: class_matrices(x, labels, names))
        total += t
        for i, (name, mat) in enumerate(mats.items()):
            off = mat[~np.eye(classes, dtype=bool)]
            when = f"{t:7.2f} s" if i == 0 else "   (same)"
            print(f"  {name:17s} {when}   off-diagonal range [{off.min():.4g}, {off.max():.4g}]")
    print(f"  all scores        {total:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared machine)")  # fmt: skip
    if args.quick:
        bench_fd(d=256, n=512, n_small=128)
        bench_class_matrix(d=64, n_per_class=100, classes=4)
    else:
        bench_fd(d=2048, n=4096, n_small=1000)
        bench_class_matrix(d=1280, n_per_class=1000, classes=10)


if __name__ == "__main__":
    main()
