"""Cost of the content headline on cached features: `analyse` with and without concept_similarity.

Synthetic 1,280-d features and 1,000-way logits for 2 x N images (what the default encoder gives);
the rest of the default compare's scores and intervals run in both cases, so the ratio is the share
the headline adds to a compare whose features come from the cache.

Usage: python bench/headline.py [--n 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from semsim.analysis import analyse
from semsim.metrics import SCORES


@dataclass
class Feats:
    features: np.ndarray
    concepts: np.ndarray
    labels: None = None
    class_names: None = None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    a = Feats(rng.normal(size=(args.n, 1280)), rng.normal(size=(args.n, 1000)) * 3)
    b = Feats(rng.normal(size=(args.n, 1280)) + 0.1, rng.normal(size=(args.n, 1000)) * 3)
    enc = {"name": "tf_efficientnet_lite0", "key": "effnet_lite0"}
    all_scores = list(SCORES)
    rest = [s for s in all_scores if s != "concept_similarity"]
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.repeats):
        for key, scores in (("without", rest), ("with", all_scores)):
            t0 = time.perf_counter()
            analyse(a, b, encoder=enc, scores=scores, class_matrices=False)
            times[key].append(time.perf_counter() - t0)
    w, wo = min(times["with"]), min(times["without"])
    print(f"2 x {args.n} images, default scores and 50 resamples, best of {args.repeats}:")
    print(f"  without the headline {wo:.2f} s, with it {w:.2f} s: +{100 * (w - wo) / wo:.1f}%")


if __name__ == "__main__":
    main()
