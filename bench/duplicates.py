"""Measure the near-duplicate cosine threshold of ``semsim.evidence.duplicates``.

Positives: CIFAR-10 test images vs altered copies of themselves (JPEG re-encoded at quality 90
and 75, a 1-pixel shift with edge padding, brightness x1.05). Negatives: each original vs the
most similar *other* original among ``n`` (a real different image that looks alike: the hardest
non-duplicate). A good threshold sits above every negative and below (nearly) every positive.

    PYTHONPATH=$PWD python bench/duplicates.py --root ../shared/data/cifar10 --n 400

Prints percentiles of both distributions for the raw cosine of the pooled features.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.evidence.duplicates import NEAR_DUPLICATE_COSINE, nearest_cosine
from semsim.features import extract_features


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _shift(im: Image.Image) -> Image.Image:
    a = np.asarray(im)
    return Image.fromarray(np.pad(a, ((1, 0), (1, 0), (0, 0)), mode="edge")[:-1, :-1])


ALTERATIONS = {
    "jpeg_q90": lambda im: _jpeg(im, 90),
    "jpeg_q75": lambda im: _jpeg(im, 75),
    "shift_1px": _shift,
    "brightness_1.05": lambda im: ImageEnhance.Brightness(im).enhance(1.05),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--root", default="../shared/data/cifar10")
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--record", action="store_true", help="write docs/generated/bench_duplicates")
    args = p.parse_args()
    files = sorted(Path(args.root, "test").glob("*/*.jpg"))
    rng = np.random.default_rng(0)
    files = [files[i] for i in np.sort(rng.choice(len(files), args.n, replace=False))]
    originals = [Image.open(f).convert("RGB") for f in files]
    sets = {"original": originals}
    sets |= {k: [f(im) for im in originals] for k, f in ALTERATIONS.items()}
    spec = EncoderSpec(image_size=args.image_size)
    feats = {}
    t0 = time.perf_counter()
    for k, ims in sets.items():
        coll = ArrayCollection(np.stack([np.asarray(im) for im in ims]), name=k)
        feats[k] = extract_features(coll, spec, num_workers=0, progress=False).features
    print(f"extracted {len(sets)} x {args.n} images in {time.perf_counter() - t0:.0f} s")
    x = feats["original"]
    # negatives: nearest other original
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = u @ u.T
    np.fill_diagonal(s, -np.inf)
    neg = s.max(axis=1)
    qs = [0, 1, 5, 50, 95, 99, 100]
    thr = NEAR_DUPLICATE_COSINE
    rows = []
    print("negatives (nearest other image) percentiles", qs, np.percentile(neg, qs).round(4))
    for k in ALTERATIONS:
        pos = np.einsum("ij,ij->i", u, feats[k] / np.linalg.norm(feats[k], axis=1, keepdims=True))
        best, arg = nearest_cosine(feats[k], x)
        found = float((arg == np.arange(args.n)).mean())
        print(
            f"{k}: positives percentiles {np.percentile(pos, qs).round(4)}; nearest is the "
            f"original for {found:.3f}"
        )
        rows.append([k, f"{100 * (pos >= thr).mean():.1f}%", f"{100 * found:.1f}%"])
        for t in (0.85, 0.9, 0.92, 0.95, 0.97):
            print(
                f"   threshold {t}: recall {(pos >= t).mean():.3f}, "
                f"false-positive rate {(neg >= t).mean():.4f}"
            )
    if args.record:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from docs.measured import record

        path = record(
            "bench_duplicates",
            values={
                "threshold": f"{thr:.2f}",
                "recall": next(r[1] for r in rows if r[0] == "jpeg_q90"),
                "false_positives": str(int((neg >= thr).sum())),
                "closest_distinct": f"{neg.max():.3f}",
                "n": f"{args.n:,}",
            },
            tables={
                "alterations": {
                    "columns": [
                        "copy of each image",
                        f"cosine >= {thr:.2f} (found)",
                        "nearest image is the original",
                    ],
                    "align": "lrr",
                    "rows": rows,
                }
            },  # fmt: skip
            note=f"{args.n} CIFAR-10 test images; negatives: each image's nearest other image.",
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
