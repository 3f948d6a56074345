"""Held-out domain check of the two headlines on invented handwritten characters (no font, no data).

Issue #21's held-out check of a domain ImageNet has no words for is handwritten characters; none
are on this machine, and the bench's letters (`content.py`) are typeset glyphs, dark on light,
from the system's fonts. Here an alphabet is *invented* (the idea of Omniglot: Lake, Salakhutdinov
& Tenenbaum 2015, https://doi.org/10.1126/science.aab3050): each character is 2-4 pen strokes
(cubic Bezier curves, control points drawn at random once per character), and each image is
that character written again by a hand: every control point moved (sd 0.035 of the box), the
whole character turned (+-12 deg), sheared, scaled (0.8-1.1) and moved, the pen 7-11 px wide
at 112 px (1.75-2.75 px at 28, as MNIST's strokes), drawn light on black and reduced to 28 px,
as MNIST and EMNIST store handwriting.
Nothing of the content method was designed on these images: this bench was written after it
and its first run is recorded as it came out.

Rows (A = `--n` images of each of the first 10 characters, B = `--n` others, unless said), with
issue #21's targets: the same characters (>= 0.85), the same written with a broader pen
(11-14 px at 112) and re-rendered (Gaussian blur 1.2 px, JPEG q25, 2x down-up, noise 0.08; then
contrast 0.7, gamma 1.8, a vignette 0.5 and each image's brightness and contrast jittered, added
after the first run's failures were fixed: >= 0.85),
10 characters vs 10 others (<= 0.5), B with half its images from 10 other characters (about
0.5), the characters against CIFAR-10 photographs (<= 0.1); the same characters as ink on paper
(dark on light, as Omniglot stores them: the same, JPEG q25, blur, noise, a vignette 0.5, 10 vs
10 others; added after the fixes); then the class matrix of A (every off-diagonal <= 0.8).

Usage: python bench/strokes.py --cifar10 CIFAR10_DIR [--n 50] [--runtime auto] [--record]
           (--record writes docs/generated/strokes.json)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for fashion.py
from fashion import RENDERINGS, Readings, render  # noqa: E402

BIG, SIZE = 112, 28  # drawn at 4x, stored at MNIST's size
PEN = (7.0, 11.0)  # pen widths at BIG px: 1.75-2.75 px at SIZE, as MNIST's strokes
BROAD = (11.0, 14.0)


def alphabet(n_chars: int, seed: int) -> list[np.ndarray]:
    """``n_chars`` invented characters: each (strokes, 4, 2) Bezier control points in [0, 1]."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.1, 0.9, (int(rng.integers(2, 5)), 4, 2)) for _ in range(n_chars)]


def _bezier(p: np.ndarray, steps: int = 24) -> np.ndarray:
    t = np.linspace(0, 1, steps)[:, None]
    return ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2]
            + t**3 * p[3])  # fmt: skip


def write(char: np.ndarray, rng: np.random.Generator, pen: tuple[float, float] = PEN) -> np.ndarray:
    """One handwritten image (SIZE x SIZE, uint8, light on black) of ``char``."""
    pts = char + rng.normal(0, 0.035, char.shape)
    a = np.deg2rad(rng.uniform(-12, 12))
    shear, scale = rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.1)
    m = (
        scale
        * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        @ np.array([[1, shear], [0, 1]])
    )
    pts = (pts - 0.5) @ m.T + 0.5 + rng.uniform(-0.06, 0.06, 2)
    im = Image.new("L", (BIG, BIG), 0)
    draw, width = ImageDraw.Draw(im), int(round(rng.uniform(*pen)))
    ink = int(rng.integers(200, 256))
    for stroke in pts:
        line = [tuple(q) for q in (0.05 + 0.9 * _bezier(stroke)) * BIG]
        draw.line(line, fill=ink, width=width, joint="curve")
    return np.asarray(im.resize((SIZE, SIZE), Image.LANCZOS))


def written(
    chars: list[np.ndarray], n: int, seed: int, pen: tuple[float, float] = PEN
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of each character, class by class, and their labels."""
    rng = np.random.default_rng(seed)
    x = [write(c, rng, pen) for c in chars for _ in range(n)]
    return np.stack(x), np.repeat(np.arange(len(chars)), n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10", required=True, type=Path, help="CIFAR-10 folder (test/<class>/)")
    p.add_argument("--n", type=int, default=50, help="images a character and set")
    p.add_argument("--runtime", default="auto")
    p.add_argument("--record", action="store_true", help="write docs/generated/strokes.json")
    p.add_argument("--sheet", type=Path, help="also write a PNG of A's first images")
    args = p.parse_args(argv)
    n, t0 = args.n, time.time()
    chars = alphabet(30, seed=0)
    first, other, third = chars[:10], chars[10:20], chars[20:]
    A, ya = written(first, n, seed=1)
    B, _ = written(first, n, seed=2)
    if args.sheet:
        sheet = A.reshape(10, n, SIZE, SIZE)[:, :10].transpose(0, 2, 1, 3).reshape(10 * SIZE, -1)
        Image.fromarray(sheet).save(args.sheet)
    readings = Readings(args.runtime)
    row = readings.row

    print(f"invented characters, {n} images a character and set, content [95%] and appearance")
    print("| A vs B | content | target | appearance |\n|---|---|---|---|")
    row("same 10 characters, other hands", A, B, ">= 0.85", "same")
    row("same 10 characters, B a broader pen", A, written(first, n, 2, BROAD)[0], ">= 0.85",
        "broad")  # fmt: skip
    # the last four added after the twenty-second session's fixes (their first run recorded)
    for name in ("JPEG q25", "Gaussian blur 1.2 px", "2x down-up", "noise 0.08", "contrast 0.7",
                 "gamma 1.8", "vignette 0.5", "jitter of brightness and contrast"):  # fmt: skip
        row(f"same 10 characters, B {name}", A, render(B, RENDERINGS[name]), ">= 0.85",
            name.split()[0].lower())  # fmt: skip
    others = written(other, n, 3)[0]
    row("10 characters vs 10 others", A, others, "<= 0.5", "other")
    half = np.concatenate([written(first, n // 2, 4)[0], written(third, n - n // 2, 5)[0]])
    row("10 characters vs half of them, half 10 others", A, half, "about 0.5", "half")
    files = sorted(args.cifar10.glob("test/*/*.jpg"))[:: 1000 // n][: 10 * n]
    cifar = [np.asarray(Image.open(f).convert("L").resize((SIZE, SIZE), Image.BICUBIC))
             for f in files]  # fmt: skip
    row("vs CIFAR-10 photographs (gray, 28 px)", A, np.stack(cifar), "<= 0.1", "photos")
    # the same handwriting as ink on paper (dark on light, as Omniglot stores it; added after the
    # twenty-second session's fixes, recorded as first run)
    row("ink on paper: same 10 characters", 255 - A, 255 - B, ">= 0.85", "paper_same")
    for name in ("JPEG q25", "Gaussian blur 1.2 px", "noise 0.08", "vignette 0.5"):
        row(f"ink on paper: B {name}", 255 - A, render(255 - B, RENDERINGS[name]), ">= 0.85",
            "paper_" + name.split()[0].lower())  # fmt: skip
    row("ink on paper: 10 characters vs 10 others", 255 - A, 255 - others, "<= 0.5", "paper_other")

    vals, _ = readings.matrix(A, [f"c{c}" for c in ya])
    iu = np.triu_indices(len(vals), 1)
    print(f"\nclass matrix of A: off-diagonal max {vals[iu].max():.2f} (<= 0.8), mean "
          f"{vals[iu].mean():.2f} ({time.time() - t0:.0f} s)")  # fmt: skip
    if args.record:
        values = {"n": str(n), "offdiag_max": f"{vals[iu].max():.2f}",
                  "offdiag_mean": f"{vals[iu].mean():.2f}"}  # fmt: skip
        note = f"invented handwritten characters, {n} a character and set, the default compare"
        readings.record("strokes", values, f"{note} (effnet_lite0), content and appearance only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
