"""Cost of the evidence (``semsim.evidence``) relative to a compare, and the size of report.html.

1. On cached features (synthetic, 2 x N, D = 1280 as the default encoder, 10 classes): the time
   of ``analyse`` (every default score, intervals, noise floors, A x B class matrices: what
   ``semsim.compare`` does after the features) vs ``build_evidence`` + ``find_cross_duplicates``.
   Target: evidence <= 15% of the analysis.
2. Page size of report.html for 2 x ``--page-n`` images (10,000 by default): the evidence is
   selected on the synthetic features, thumbnails come from ``--images`` (e.g. the CIFAR-10 test
   JPEGs; image i is the i-th file) or from generated 32 px images. Target: <= 10 MB.

    PYTHONPATH=$PWD python bench/evidence.py --n 1000 --page-n 10000 \
        --images ../shared/data/cifar10/test

Times depend on the machine's load: run it on an idle machine and quote ``uptime``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from semsim.analysis import analyse
from semsim.evidence import build_evidence, find_cross_duplicates
from semsim.report import Report
from semsim.report.html import render_html

NAMES = [f"class{i}" for i in range(10)]


def _features(n: int, d: int, seed: int, shift: float = 0.0) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    centers = np.random.default_rng(99).normal(size=(10, d)) * 0.6
    x = centers[labels] + rng.normal(size=(n, d)) + shift
    return SimpleNamespace(
        features=np.maximum(x, 0).astype(np.float32), labels=labels, class_names=NAMES
    )


def _loader(images: str | None, size: int = 32):
    files = sorted(Path(images).glob("*/*.jpg")) if images else []

    def load(which: str, index: int) -> Image.Image:
        if files:
            return Image.open(files[(index + (5000 if which == "b" else 0)) % len(files)])
        rng = np.random.default_rng(index + (10**6 if which == "b" else 0))
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((size, size), Image.BICUBIC)
        noise = rng.integers(-12, 12, (size, size, 3))
        return Image.fromarray(np.clip(np.asarray(im) + noise, 0, 255).astype(np.uint8))

    return load


def bench_cost(n: int, d: int, repeats: int) -> None:
    a, b = _features(n, d, 0), _features(n, d, 1, shift=0.05)
    t = time.perf_counter()
    analyse(a, b, encoder={"key": "effnet_lite0"}, seed=0)
    t_analyse = time.perf_counter() - t
    ev_times, dup_times = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        build_evidence(a, b, seed=0)
        ev_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        find_cross_duplicates(a.features, b.features)
        dup_times.append(time.perf_counter() - t)
    ev, dup = min(ev_times), min(dup_times)
    print(
        f"2 x {n}, D = {d}: analyse {t_analyse:.2f} s; evidence {ev:.2f} s + duplicates "
        f"{dup:.2f} s = {ev + dup:.2f} s = {100 * (ev + dup) / t_analyse:.1f}% of analyse "
        f"(min of {repeats})"
    )


def bench_page(n: int, d: int, images: str | None) -> None:
    a, b = _features(n, d, 0), _features(n, d, 1, shift=0.05)
    t = time.perf_counter()
    ev = build_evidence(a, b, seed=0)
    t_ev = time.perf_counter() - t
    dups = find_cross_duplicates(a.features, b.features)
    report = Report(inputs={}, encoder={}, sections={"evidence": ev, "duplicates": dups})
    t = time.perf_counter()
    text = render_html(report, _loader(images))
    t_html = time.perf_counter() - t
    n_img = text.count("<img ")
    print(
        f"2 x {n} (D = {d}): evidence {t_ev:.2f} s; report.html {len(text.encode()) / 1e6:.2f} "
        f"MB with {n_img} <img>, rendered in {t_html:.2f} s "
        f"(thumbnails from {images or 'generated 32 px images'})"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=1280)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--page-n", type=int, default=10000)
    p.add_argument("--page-d", type=int, default=1280)
    p.add_argument("--images", default=None)
    args = p.parse_args()
    bench_cost(args.n, args.d, args.repeats)
    if args.page_n:
        bench_page(args.page_n, args.page_d, args.images)


if __name__ == "__main__":
    main()
