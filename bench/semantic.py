"""Invariance and sensitivity of the content headline, measured through the real `semsim.compare`.

Builds collections from CIFAR-10 image folders (e.g. the shared test split), re-renders B, and runs
the default compare (default encoder and image size) on each case, printing one table row per
case: the headline `similarity` (content_similarity) with its interval, and the rendering scores
beside it. Cases:

- invariance: A = images [a0, a0 + n) of every class, B = images [0, n) of every class (disjoint),
  B as is and re-rendered (JPEG q25/q50/q95, Gaussian blur 0.6/1.2 px, 2x down-then-up, grayscale,
  horizontal flip, mild colour jitter);
- sensitivity: vehicles vs animals, classes 0-4 vs 5-9, and A = the 4 vehicle classes against a B
  that draws 0/25/50/75/100% of its images from 4 animal classes (same size).

Usage: python bench/semantic.py --root CIFAR10_SPLIT_DIR [--n 50] [--out docs/semantic_table.md]
Writes re-rendered copies as PNG under a temporary folder; features are cached (SEMSIM_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

VEHICLES = ["airplane", "automobile", "ship", "truck"]


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _jitter(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    from PIL import ImageEnhance

    for enh in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        im = enh(im).enhance(float(rng.uniform(0.8, 1.2)))
    return im


RENDERINGS = {
    "as is": lambda im, rng: im,
    "JPEG q95": lambda im, rng: _jpeg(im, 95),
    "JPEG q50": lambda im, rng: _jpeg(im, 50),
    "JPEG q25": lambda im, rng: _jpeg(im, 25),
    "blur 0.6 px": lambda im, rng: im.filter(ImageFilter.GaussianBlur(0.6)),
    "blur 1.2 px": lambda im, rng: im.filter(ImageFilter.GaussianBlur(1.2)),
    "2x down-up": lambda im, rng: im.resize((im.width // 2, im.height // 2), Image.BICUBIC).resize(
        im.size, Image.BICUBIC
    ),
    "grayscale": lambda im, rng: im.convert("L").convert("RGB"),
    "h-flip": lambda im, rng: im.transpose(Image.FLIP_LEFT_RIGHT),
    "colour jitter": _jitter,
}


def write_set(root: Path, out: Path, picks: dict[str, list[int]], render=None, seed=0) -> Path:
    """Copy images ``picks[class]`` (indices into the sorted file list) to ``out/<class>/``."""
    rng = np.random.default_rng(seed)
    for cls, idx in picks.items():
        files = sorted((root / cls).iterdir())
        (out / cls).mkdir(parents=True, exist_ok=True)
        for i in idx:
            im = Image.open(files[i]).convert("RGB")
            if render is not None:
                im = render(im, rng)
            im.save(out / cls / f"{i:05d}.png")
    return out


def run_compare(a: Path, b: Path, out: Path, extra: list[str]) -> dict:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import semsim.data  # noqa: F401 - registers the a/b source aliases Hydra composes
    from semsim.compare import compare
    from semsim.utils import CONF_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "compare",
            overrides=[
                "a=folder", f"a.root={a}", "b=folder", f"b.root={b}", f"out_dir={out}", "class_matrices=false", "progress=false",
                "scores=[content_similarity,appearance,concept_similarity,prototype_cosine,kid,c2st,indistinguishability]",
                *extra,
            ],
        )  # fmt: skip
    return compare(cfg).to_dict()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, type=Path, help="CIFAR-10 split folder (<class>/*)")
    p.add_argument("--n", type=int, default=50, help="images per class on each side")
    p.add_argument("--a0", type=int, default=100, help="first image index of A in each class")
    p.add_argument("--out", type=Path, default=None, help="also write the table (Markdown) here")
    p.add_argument("--only", default="", help="comma-separated case names to run")
    p.add_argument("overrides", nargs="*", help="extra compare overrides (e.g. n_bootstrap=20)")
    args = p.parse_args(argv)
    classes = sorted(d.name for d in args.root.iterdir() if d.is_dir())
    n, a0 = args.n, args.a0
    tmp = Path(tempfile.mkdtemp(prefix="semsim-semantic-"))
    a_dir = write_set(args.root, tmp / "A", {c: list(range(a0, a0 + n)) for c in classes})
    cases: list[tuple[str, Path, Path]] = []
    for name, fn in RENDERINGS.items():
        b = write_set(args.root, tmp / f"B-{name}", {c: list(range(n)) for c in classes}, fn)
        cases.append((f"invariance: B {name}", a_dir, b))
    veh = [c for c in classes if c in VEHICLES]
    anim = [c for c in classes if c not in VEHICLES]
    half = {c: list(range(n)) for c in classes}
    cases.append(("sensitivity: vehicles vs animals", write_set(args.root, tmp / "veh",
                  {c: half[c] for c in veh}), write_set(args.root, tmp / "anim",
                  {c: list(range(a0, a0 + n)) for c in anim})))  # fmt: skip
    first, second = classes[:5], classes[5:]
    cases.append(("sensitivity: classes 0-4 vs 5-9 (near twins)", write_set(args.root, tmp / "A5",
                  {c: list(range(a0, a0 + n)) for c in first}),
                  write_set(args.root, tmp / "B5", {c: list(range(n)) for c in second})))  # fmt: skip
    # A: the 4 vehicle classes; B: the same number of images, a share of them from 4 animal classes
    a_veh = write_set(args.root, tmp / "Aveh", {c: list(range(a0, a0 + n)) for c in veh})
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        k = round(n * share)
        picks = {c: list(range(k)) for c in anim[:4]} | {c: list(range(n - k)) for c in veh}
        b = write_set(args.root, tmp / f"mix{int(100 * share)}", picks)
        cases.append((f"sensitivity: {int(100 * share)}% of B from classes A lacks", a_veh, b))
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    rows = []
    print(
        "| case | similarity [95% CI] | appearance | indistinguishability | c2st acc | "
        "kid (noise floor) | prototype_cosine | s |",
        flush=True,
    )
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for name, a, b in cases:
        if only and not any(o in name for o in only):
            continue
        t0 = time.perf_counter()
        slug = "".join(ch if ch.isalnum() else "_" for ch in name)
        r = run_compare(a, b, tmp / "out" / slug, args.overrides)
        s = r["scores"]
        head = r["similarity"] or {"value": None, "ci": None}  # the headline: content_similarity
        sim, ci = head["value"], head["ci"] or [None, None]
        f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
        row = (f"| {name} | {f(sim)} [{f(ci[0], 2)}, {f(ci[1], 2)}] | "
               f"{f(s['appearance']['value'])} | {f(s['indistinguishability']['value'])} | {f(s['c2st']['value'])} | "
               f"{f(s['kid']['value'])} ({f(s['kid']['noise_floor'])}) | "
               f"{f(s['prototype_cosine']['value'])} | {time.perf_counter() - t0:.0f} |")  # fmt: skip
        print(row, flush=True)
        rows.append(row)
    if args.out:
        args.out.write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
