"""The pair's planned common rendering checked against the images as they are.

Every step of a pair's common rendering (:mod:`semsim.features.native_plan`, the tone, shading
and spectrum steps) is planned from the two collections' statistics, and a difference of
content moves those statistics too: a collection with a share of footwear on black reads
darker, lit from one side and softer than one of tops, and the steps planned from that render
the content the two share apart (``docs/report.md``: Fashion-MNIST, B with half its images from
other classes read 0.07 in the planned view, 0.67 as the images are).

The content headline asks whether some common rendering makes the two collections depict the
same things; the images as they are (the encoder's plain features, the identity rendering) are
one such rendering, the plan another. So when the plan changed any pixel, the content features
are the plan's unless the images as they are overlap more (the content score's own estimator,
:func:`semsim.metrics.content.content_overlap`, on at most :data:`SAMPLE` images a collection):
then the plan's steps put the two further apart than they were and the plain features are
used. Selecting the larger of two estimates adds a little to the score where the two are close
(where the choice matters little); the interval is the chosen view's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SAMPLE = 2000  # images a collection the check reads (seeded subsample of larger ones)


def _sample(x: np.ndarray, seed: int) -> np.ndarray:
    if len(x) <= SAMPLE:
        return x
    return x[np.sort(np.random.default_rng(seed).choice(len(x), SAMPLE, replace=False))]


def planned_or_plain(
    planned: dict[str, np.ndarray], plain: dict[str, np.ndarray]
) -> tuple[bool, float, float]:
    """Whether the planned view is kept, with the overlap of A and B in it and as they are.

    Args:
        planned: ``{"a": (N_a, D), "b": (N_b, D)}`` content features in the planned view.
        plain: the same images' plain features (any width), rows in the same order.

    Returns:
        ``(keep the plan, overlap planned, overlap plain)``; the plan is kept unless the plain
        overlap is the larger.
    """
    from semsim.metrics.content import content_overlap

    def overlap(x: dict[str, np.ndarray]) -> float:
        return content_overlap(_sample(x["a"], 1), _sample(x["b"], 2))["content_similarity"]

    ours, theirs = overlap(planned), overlap(plain)
    return ours >= theirs, ours, theirs


def plain_check(
    out: dict[str, tuple[np.ndarray, Any]], said: dict[str, str], plain: Callable[[str], Any]
) -> None:
    """In place: a pair's content features (``out[w][0]``, the planned view) and their words
    (``said[w]``) become the plain features ``plain(w)`` of each collection when those overlap
    more (:func:`planned_or_plain`)."""
    got = {w: plain(w) for w in out}
    keep, ours, theirs = planned_or_plain({w: c for w, (c, _) in out.items()}, got)
    if keep:
        return
    for w in out:
        out[w] = (np.asarray(got[w], np.float32), out[w][1])
        said[w] = (f"the images as they are (the planned view, {said[w]}, read the pair "
                   f"further apart: overlap {ours:.2f} against {theirs:.2f})")  # fmt: skip
