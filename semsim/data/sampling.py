"""Seeded per-class subsampling: the one implementation every ``max_per_class`` option uses."""

from __future__ import annotations

import numpy as np


def per_class_subset(
    labels: np.ndarray | None, max_per_class: int | None, seed: int, n: int | None = None
) -> np.ndarray:
    """Keep at most ``max_per_class`` items of each label, drawn at random with ``seed``.

    Classes are visited in ascending label order, one ``rng.choice`` per class that has more
    than ``max_per_class`` items, so the result is a pure function of the arguments (and equal
    to what the sources have always drawn, which keeps cached features valid).

    Args:
        labels: ``(N,)`` integer labels, or ``None`` for an unlabelled collection of ``n`` items
            (treated as one class).
        max_per_class: the cap; ``None`` keeps everything.
        seed: seeds ``np.random.default_rng``.
        n: the number of items when ``labels`` is ``None``.

    Returns:
        ``(K,)`` int64 indices of the kept items, ascending.
    """
    if labels is None:
        if n is None:
            raise ValueError("per_class_subset: give labels or n")
        labels = np.zeros(n, dtype=np.int64)
    labels = np.asarray(labels)
    if max_per_class is None:
        return np.arange(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) > max_per_class:
            members = rng.choice(members, size=max_per_class, replace=False)
        keep.append(members)
    return np.sort(np.concatenate(keep)).astype(np.int64) if keep else np.zeros(0, np.int64)
