"""Images present in both A and B: exact (same content hash) and near duplicates (features).

Duplicates shared by A and B answer the train/test-leakage question and distort the scores:
a classifier test or a kernel MMD sees two copies of one image as "the same distribution".
:func:`find_cross_duplicates` finds them; :func:`indices_to_drop` says which images to leave
out so the scores can be computed again without them.

Near duplicates: the cosine similarity of the two images' features is at least ``threshold``.
The default, :data:`NEAR_DUPLICATE_COSINE`, was chosen by measurement with the default encoder
(``bench/duplicates.py``): CIFAR-10 test images against JPEG re-encodings (quality 90, 75) and
small changes of the same images versus the most similar *different* image of the set.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from semsim.evidence._common import as_float32, item, l2_normalise, row_blocks

NEAR_DUPLICATE_COSINE = 0.92
"""Default cosine threshold of a near duplicate (default encoder; see ``bench/duplicates.py``)."""

MAX_EXAMPLES = 16


def image_paths(collection: Any) -> list[str] | None:
    """The file path of every image of a collection, or ``None`` when it holds no files."""
    paths = getattr(collection, "paths", None)
    if paths is not None and len(paths) == len(collection):
        return [str(p) for p in paths]
    parent, indices = getattr(collection, "parent", None), getattr(collection, "indices", None)
    if parent is not None and indices is not None:
        parent_paths = image_paths(parent)
        if parent_paths is not None:
            return [parent_paths[int(i)] for i in indices]
    return None


def content_hashes(collection: Any) -> list[str]:
    """sha256 of each image's file bytes, or of its decoded pixels when it has no file.

    Two files with equal hashes are the same image; re-encoded copies are found as near
    duplicates instead.
    """
    paths = image_paths(collection)
    if paths is not None:
        from semsim.data.images import read_files

        return [hashlib.sha256(data).hexdigest() for data in read_files(paths)]
    images = getattr(collection, "images", None)
    if isinstance(images, np.ndarray) and len(images) == len(collection):
        return [pixel_hash(im) for im in images]
    return [pixel_hash(np.asarray(collection.load_image(i))) for i in range(len(collection))]


def pixel_hash(pixels: np.ndarray) -> str:
    """sha256 of an image's decoded pixels (shape and dtype included)."""
    a = np.ascontiguousarray(pixels)
    h = hashlib.sha256(f"{a.shape}{a.dtype}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def nearest_cosine(xb: np.ndarray, xa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``xb``: the highest cosine similarity to a row of ``xa`` and its index."""
    ua, ub = l2_normalise(as_float32(xa, "a")), l2_normalise(as_float32(xb, "b"))
    best = np.empty(len(ub), dtype=np.float64)
    arg = np.empty(len(ub), dtype=np.int64)
    for rows in row_blocks(len(ub), len(ua)):
        s = ub[rows] @ ua.T
        arg[rows] = s.argmax(axis=1)
        best[rows] = s[np.arange(s.shape[0]), arg[rows]]
    return best, arg


def find_cross_duplicates(
    features_a: np.ndarray,
    features_b: np.ndarray,
    hashes_a: Sequence[str] | None = None,
    hashes_b: Sequence[str] | None = None,
    *,
    threshold: float = NEAR_DUPLICATE_COSINE,
    paths_a: Sequence[str] | None = None,
    paths_b: Sequence[str] | None = None,
    max_examples: int = MAX_EXAMPLES,
) -> dict[str, Any]:
    """Exact and near duplicates shared by A and B, as the JSON-able ``sections["duplicates"]``.

    Args:
        features_a, features_b: ``(Na, D)``, ``(Nb, D)`` features in collection order.
        hashes_a, hashes_b: content hashes (:func:`content_hashes`), or None to skip exact ones.
        threshold: cosine similarity at or above which two images are near duplicates.
        paths_a, paths_b: file paths for the examples, or None.

    Returns:
        ``{"n_exact", "n_near", "a_indices", "b_indices", "examples", ...}``: ``n_exact`` and
        ``n_near`` count B images with an exact / only a near duplicate in A; ``a_indices`` and
        ``b_indices`` list every image of each side that has a duplicate on the other side.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"duplicates threshold must be in (0, 1], got {threshold}")
    nb = len(features_b)
    exact_of_b: dict[int, list[int]] = {}
    if hashes_a is not None and hashes_b is not None:
        where: dict[str, list[int]] = {}
        for i, h in enumerate(hashes_a):
            where.setdefault(h, []).append(i)
        for j, h in enumerate(hashes_b):
            if h in where:
                exact_of_b[j] = where[h]
    best, arg = nearest_cosine(features_b, features_a)
    # near duplicates of B against the whole of A, and of A against the whole of B
    best_a, arg_a = nearest_cosine(features_a, features_b)
    near_b = (best >= threshold) & ~np.isin(np.arange(nb), list(exact_of_b))
    a_dup = set(int(i) for v in exact_of_b.values() for i in v)
    a_dup |= set(np.flatnonzero(best_a >= threshold).tolist())
    b_dup = set(exact_of_b) | set(np.flatnonzero(near_b).tolist())
    examples = []
    for j in sorted(exact_of_b)[:max_examples]:
        i = exact_of_b[j][0]
        examples.append(_pair("exact", i, j, best[j] if arg[j] == i else None, paths_a, paths_b))
    near_order = np.flatnonzero(near_b)
    near_order = near_order[np.lexsort((near_order, -best[near_order]))]
    for j in near_order[: max(0, max_examples - len(examples))]:
        examples.append(_pair("near", int(arg[j]), int(j), best[j], paths_a, paths_b))
    return {
        "threshold": float(threshold),
        "n_a": int(len(features_a)),
        "n_b": int(nb),
        "n_exact": len(exact_of_b),
        "n_near": int(near_b.sum()),
        "exact_checked": hashes_a is not None and hashes_b is not None,
        "a_indices": sorted(a_dup),
        "b_indices": sorted(b_dup),
        "how": "Exact: same sha256 of the file bytes (of the decoded pixels when there is no "
        f"file). Near: cosine similarity of the features >= {threshold:g}, the nearest A image "
        "of each B image (threshold measured on JPEG re-encodings, bench/duplicates.py).",
        "examples": examples,
    }


def _pair(kind: str, i: int, j: int, cos: float | None, paths_a, paths_b) -> dict[str, Any]:
    return {
        "kind": kind,
        "a": item("a", i, paths_a),
        "b": item("b", j, paths_b),
        "score": None if cos is None else round(float(cos), 4),
    }


def indices_to_drop(duplicates: dict[str, Any], side: str = "b") -> np.ndarray:
    """Indices of ``side``'s images ("a" or "b") that have a duplicate on the other side.

    Scoring A against B without these images keeps shared images from inflating the
    similarity: drop them from B (the default) to ask "is B like A apart from the copies?".
    """
    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")
    return np.asarray(duplicates.get(f"{side}_indices", []), dtype=np.int64)


def keep_mask(n: int, drop: np.ndarray) -> np.ndarray:
    """(n,) boolean mask that is False at the ``drop`` indices."""
    mask = np.ones(n, dtype=bool)
    mask[np.asarray(drop, dtype=np.int64)] = False
    return mask


def select_rows(features: Any, keep: np.ndarray) -> Any:
    """A copy of a feature set (e.g. :class:`semsim.features.Features`) holding only ``keep``.

    Every per-image array (``features``, ``labels``, ``concepts``, each of ``attributes``) is
    indexed; names and provenance are kept. ``keep`` is a boolean mask or an index array.
    """
    n = len(features.features)
    keep = np.asarray(keep)
    idx = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(np.int64)
    out = copy.copy(features)
    for name, value in vars(features).items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == n:
            setattr(out, name, value[idx])
    attrs = getattr(features, "attributes", None)
    if isinstance(attrs, dict):
        out.attributes = {k: (np.asarray(v)[idx], names) for k, (v, names) in attrs.items()}
    return out


def without_duplicates(features_b: Any, duplicates: dict[str, Any]) -> Any:
    """B's feature set without the images that have a duplicate in A (see :func:`select_rows`).

    ``analyse(a, without_duplicates(b, dups), ...)`` scores B against A without the shared
    images, so a report can give the scores with and without them.
    """
    drop = indices_to_drop(duplicates, "b")
    return select_rows(features_b, keep_mask(len(features_b.features), drop))
