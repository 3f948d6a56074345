"""Why CIFAKE's generated images read as partly different content: the content headline per class.

The content headline (``content_similarity``) reads CIFAKE REAL vs FAKE at about 0.6 ("partly the
same content"). This script takes ``--n`` images a class of each (CIFAKE's file names carry the
CIFAR-10 class) through the product's content view (``bench/content.py``'s :class:`Bench`: the
pair's common rendering, the default encoder) and prints:

- the headline of the whole pair, and per class real c vs generated c beside real c vs its nearest
  other real class;
- how often a 10-NN vote among the real images gives a generated image its class, beside how
  often it gives a held-out real image its class (leave-one-out): are the generated images
  recognisable as their classes in the content view?
- the shift of each class's mean from real to generated: the mean cosine between the classes'
  shifts, and the headline once the shift common to all classes is taken out of the generated
  features (if a rendering left over were the difference, that one correction would remove it).

    python bench/cifake_content.py --cifake ../shared/data/cifake [--n 50] [--runtime openvino]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from content import CLASSES, Bench  # noqa: E402


def cifake_class(name: str) -> int:
    """CIFAKE's naming: ``1234.jpg`` is class 0 (airplane), ``1234 (k).jpg`` class k - 1."""
    m = re.search(r"\((\d+)\)", name)
    return int(m.group(1)) - 1 if m else 0


def load(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of each class (sorted names) as (N, 32, 32, 3) and their classes."""
    by: dict[int, list[Path]] = {}
    for f in sorted(folder.glob("*.jpg")):
        by.setdefault(cifake_class(f.name), []).append(f)
    if sorted(by) != list(range(len(CLASSES))) or min(len(v) for v in by.values()) < n:
        raise SystemExit(f"{folder}: need {n} images of each of the 10 CIFAKE classes")
    files = [f for c in range(len(CLASSES)) for f in by[c][:n]]
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    return images, np.repeat(np.arange(len(CLASSES)), n)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vote(
    train: np.ndarray, labels: np.ndarray, query: np.ndarray, k: int = 10, self_too: bool = False
) -> np.ndarray:
    """Majority class of each query row's ``k`` nearest train rows (cosine), itself left out
    when the query rows are the train rows (``self_too``)."""
    s = _unit(query) @ _unit(train).T
    if self_too:
        np.fill_diagonal(s, -np.inf)
    nn = np.argsort(-s, axis=1)[:, :k]
    return np.array([np.bincount(labels[r], minlength=len(CLASSES)).argmax() for r in nn])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifake", required=True, type=Path, help="CIFAKE folder (train/REAL|FAKE)")
    p.add_argument("--n", type=int, default=50, help="images per class and set")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cache", default="~/.cache/semsim")
    p.add_argument("--runtime", default="torch", help="torch | openvino | onnxruntime")
    args = p.parse_args(argv)
    from semsim.metrics.content import content_overlap

    real, yr = load(args.cifake / "train" / "REAL", args.n)
    fake, yf = load(args.cifake / "train" / "FAKE", args.n)
    views = Bench(args.size, args.cache, args.runtime).views(real, fake)
    a, b = views["a"][0], views["b"][0]
    sim = lambda x, y: content_overlap(x, y)["content_similarity"]  # noqa: E731
    k = len(CLASSES)
    print(f"CIFAKE REAL vs FAKE, {args.n} a class, content view: headline {sim(a, b):.2f}\n")
    print("| class | real vs generated | real vs nearest other real class |")
    print("|---|---:|---:|")
    for c in range(k):
        others = [(sim(a[yr == c], a[yr == d]), CLASSES[d]) for d in range(k) if d != c]
        best = max(others)
        print(f"| {CLASSES[c]} | {sim(a[yr == c], b[yf == c]):.2f} | {best[0]:.2f} ({best[1]}) |")
    held = float((vote(a, yr, a, self_too=True) == yr).mean())
    gen = float((vote(a, yr, b) == yf).mean())
    print(f"\n10-NN vote among the real images: generated images given their class {gen:.1%}, "
          f"held-out real images {held:.1%} (chance {1 / k:.0%})")  # fmt: skip
    ua, ub = _unit(a), _unit(b)
    shifts = np.stack([ub[yf == c].mean(0) - ua[yr == c].mean(0) for c in range(k)])
    un = _unit(shifts)
    cos = (un @ un.T)[~np.eye(k, dtype=bool)].mean()
    common = shifts.mean(0)
    print(f"mean cosine between the classes' real -> generated shifts {cos:.2f}; the shift common "
          f"to all classes holds {common @ common / np.mean((shifts**2).sum(1)):.0%} of their "
          f"energy; headline with it taken out of the generated features "
          f"{sim(ua, ub - common):.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
