"""Which images drive a difference: k-NN manifold outliers, typical images and class-pair images.

Every selector is pure numpy on features (+ labels), deterministic for a given ``seed``, and
returns JSON-able dicts whose images are ``{"set": "a"|"b", "index", "path", "score", "label"}``
(see :func:`semsim.evidence._common.item`), so a report can be redrawn without the features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from semsim.evidence._common import (
    class_name,
    item,
    knn_radius,
    l2_normalise,
    min_ratio,
    nearest_dist,
    top_k,
)


def manifold_galleries(
    xa: np.ndarray,
    xb: np.ndarray,
    idx_a: np.ndarray,
    idx_b: np.ndarray,
    *,
    k: int = 5,
    n_show: int = 12,
    labels: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    names: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
    paths: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
) -> list[dict[str, Any]]:
    """Galleries of the images farthest outside the other collection's k-NN manifold.

    With ``r_X(i)`` the distance from ``X_i`` to its k-th nearest other image of its own set
    (the PRDC balls of Kynkäänniemi et al. 2019 and Naeem et al. 2020), the score of an image
    ``y`` against set ``X`` is ``min_i ||y - X_i|| / r_X(i)``: it is <= 1 exactly when ``y`` lies
    in some ball of ``X`` (counted by precision/recall), and grows the farther ``y`` is from
    every ball. Coverage holes score each ``A_i`` by ``min_j ||A_i - B_j|| / r_A(i)``: > 1 means
    no B image falls in A_i's own ball (not counted by coverage).

    Args:
        xa, xb: ``(Na, D)``, ``(Nb, D)`` float32 features (already subsampled).
        idx_a, idx_b: the collection indices of the rows of ``xa``/``xb``.
        k: neighbourhood size of the balls (as the PRDC scores).
        n_show: images per gallery.
        labels, names, paths: per-collection labels, class names and file paths (or None).

    Returns:
        Three galleries: ``b_outside_a``, ``a_outside_b``, ``coverage_holes``.
    """
    k_a, k_b = min(k, len(xa) - 1), min(k, len(xb) - 1)
    if k_a < 1 or k_b < 1:
        return []
    ra, rb = knn_radius(xa, k_a), knn_radius(xb, k_b)
    b_vs_a = min_ratio(xb, xa, ra)
    a_vs_b = min_ratio(xa, xb, rb)
    # coverage: distance from A_i to its nearest B over A_i's own radius
    holes = nearest_dist(xa, xb) / np.maximum(ra, 1e-12)

    def gallery(key: str, title: str, how: str, which: str, score: np.ndarray, idx) -> dict:
        s = 0 if which == "a" else 1
        chosen = top_k(score, n_show, largest=True)
        items = [
            item(
                which,
                idx[i],
                paths[s],
                score[i],
                class_name(labels[s], names[s], int(idx[i])),
            )
            for i in chosen
        ]
        return {
            "key": key,
            "title": title,
            "how": how,
            "score_name": "distance / k-NN radius",
            "n_outside": int((score > 1.0).sum()),
            "n_scored": int(len(score)),
            "items": items,
        }

    return [
        gallery(
            "b_outside_a",
            "B images least like A",
            f"B images farthest outside A's k-NN manifold: distance to the nearest A image's "
            f"{k_a}-NN ball in units of that ball's radius (> 1 = outside every A ball, the "
            f"images that lower precision), largest first.",
            "b",
            b_vs_a,
            idx_b,
        ),
        gallery(
            "a_outside_b",
            "A images least like B",
            f"A images farthest outside B's k-NN manifold: distance to the nearest B image's "
            f"{k_b}-NN ball in units of that ball's radius (> 1 = outside every B ball, the "
            f"images that lower recall), largest first.",
            "a",
            a_vs_b,
            idx_a,
        ),
        gallery(
            "coverage_holes",
            "A images that B does not cover",
            f"A images whose own {k_a}-NN ball holds no B image, ranked by the distance to the "
            f"nearest B image in units of that ball's radius (> 1 = a hole, the images that "
            f"lower coverage).",
            "a",
            holes,
            idx_a,
        ),
    ]


def _present(labels: np.ndarray) -> list[int]:
    return [int(c) for c in np.unique(labels)]


def _names(names: Sequence[str] | None, labels: np.ndarray) -> dict[str, int]:
    """``{class name: class index}`` of the classes present in ``labels``."""
    return {
        (str(names[c]) if names is not None and c < len(names) else str(c)): c
        for c in _present(labels)
    }


def typical_images(
    xa: np.ndarray,
    la: np.ndarray,
    idx_a: np.ndarray,
    names_a: Sequence[str] | None,
    paths_a: Sequence[str] | None,
    xb: np.ndarray | None = None,
    lb: np.ndarray | None = None,
    idx_b: np.ndarray | None = None,
    names_b: Sequence[str] | None = None,
    paths_b: Sequence[str] | None = None,
    n_show: int = 4,
) -> dict[str, Any]:
    """Per class, the images nearest their class prototype (the mean unit-length feature).

    A's and B's classes are matched by name; each side uses its own prototype, so a row shows
    what a typical A cat and a typical B cat look like. Scores are cosine similarities.
    """
    ua = l2_normalise(xa)
    ub = None if xb is None else l2_normalise(xb)
    classes_a = _names(names_a, la)
    classes_b = {} if lb is None else _names(names_b, lb)
    rows = []
    for cname in list(classes_a) + [c for c in classes_b if c not in classes_a]:
        row: dict[str, Any] = {"class": cname}
        for which, u, lab, idx, cls, paths in (
            ("a", ua, la, idx_a, classes_a, paths_a),
            ("b", ub, lb, idx_b, classes_b, paths_b),
        ):
            if u is None or cname not in cls:
                row[which] = []
                continue
            members = np.flatnonzero(lab == cls[cname])
            proto = l2_normalise(u[members].mean(axis=0, keepdims=True))[0]
            cos = u[members] @ proto
            chosen = top_k(cos.astype(np.float64), n_show, largest=True)
            row[which] = [item(which, idx[members[i]], paths, cos[i], cname) for i in chosen]
        rows.append(row)
    return {
        "how": "Per class, the images with the highest cosine similarity to their collection's "
        "class prototype (mean of the unit-length features of that class).",
        "classes": rows,
    }


def class_pairs(
    xa: np.ndarray,
    la: np.ndarray,
    idx_a: np.ndarray,
    names_a: Sequence[str] | None,
    paths_a: Sequence[str] | None,
    xb: np.ndarray | None = None,
    lb: np.ndarray | None = None,
    idx_b: np.ndarray | None = None,
    names_b: Sequence[str] | None = None,
    paths_b: Sequence[str] | None = None,
    n_pairs: int = 3,
    max_cells: int = 400,
) -> dict[str, Any]:
    """For each cell of a class matrix, the image pairs that make the two classes close.

    Without B, cells are (A class i, A class j), i < j (the matrix is symmetric); with B,
    (A class i, B class j) for every i, j. A cell's pairs are the ``n_pairs`` pairs with the
    highest cosine similarity, one image from each class, each image used at most once.
    With more than ``max_cells`` cells, only each row's most similar cells are kept.
    """
    ua = l2_normalise(xa)
    cross = xb is not None
    ub = l2_normalise(xb) if cross else ua
    lab_b = lb if cross else la
    ix_b = idx_b if cross else idx_a
    p_b = paths_b if cross else paths_a
    rows, cols = _names(names_a, la), _names(names_b if cross else names_a, lab_b)
    members_a = {c: np.flatnonzero(la == i) for c, i in rows.items()}
    members_b = {c: np.flatnonzero(lab_b == i) for c, i in cols.items()}
    cells = []
    for ri, (rname, ma) in enumerate(members_a.items()):
        for ci, (cname, mb) in enumerate(members_b.items()):
            if not cross and ci <= ri:
                continue
            sim = ua[ma] @ ub[mb].T
            pairs = []
            used_a: set[int] = set()
            used_b: set[int] = set()
            flat = -sim.ravel()
            m = min(flat.size, max(64, 16 * n_pairs))
            cand = np.argpartition(flat, m - 1)[:m] if m < flat.size else np.arange(flat.size)
            for f in cand[np.lexsort((cand, flat[cand]))]:
                i, j = divmod(int(f), sim.shape[1])
                if i in used_a or j in used_b:
                    continue
                used_a.add(i)
                used_b.add(j)
                pairs.append(
                    {
                        "a": item("a", idx_a[ma[i]], paths_a, None, rname),
                        "b": item("b" if cross else "a", ix_b[mb[j]], p_b, None, cname),
                        "score": round(float(sim[i, j]), 4),
                    }
                )
                if len(pairs) == n_pairs:
                    break
            cells.append({"row": rname, "col": cname, "pairs": pairs})
    if len(cells) > max_cells:
        per_row = max(1, max_cells // max(1, len(rows)))
        kept = []
        for rname in rows:
            mine = [c for c in cells if c["row"] == rname and c["pairs"]]
            mine.sort(key=lambda c: -c["pairs"][0]["score"])
            kept += mine[:per_row]
        cells = kept
    return {
        "kind": "a_vs_b" if cross else "within_a",
        "how": "For each class pair, the most similar image pairs (highest cosine similarity of "
        "the features, one image from each class, each image used once): the images that make "
        "the two classes close.",
        "cells": cells,
    }
