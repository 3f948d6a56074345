"""Evidence: the images behind the numbers of a report.

:func:`build_evidence` picks, from features and labels alone (pure numpy, seeded), the images
that drive a difference between A and B: the images farthest outside the other collection's
k-NN manifold, the A images B does not cover, per-class typical images, the image pairs that
make two classes close, and what content is over- or under-represented in B. The result is a
JSON-able dict for ``Report.sections["evidence"]``; images are referred to by collection
(``"a"``/``"b"``), index and file path, so ``report.html`` can be redrawn from report.json.
:mod:`semsim.evidence.duplicates` finds images shared by A and B (``sections["duplicates"]``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from semsim.evidence._common import as_float32, l2_normalise, subsample
from semsim.evidence.duplicates import (
    NEAR_DUPLICATE_COSINE,
    content_hashes,
    find_cross_duplicates,
    image_paths,
    indices_to_drop,
    keep_mask,
    select_rows,
    without_duplicates,
)
from semsim.evidence.represent import by_class, by_cluster, by_concept, softmax
from semsim.evidence.select import class_pairs, manifold_galleries, typical_images

EVIDENCE_VERSION = 1

__all__ = [
    "NEAR_DUPLICATE_COSINE",
    "build_evidence",
    "content_hashes",
    "find_cross_duplicates",
    "image_paths",
    "indices_to_drop",
    "keep_mask",
    "select_rows",
    "attach_evidence",
    "thumbnail_loader",
    "without_duplicates",
]


def _get(f: Any, name: str) -> Any:
    return getattr(f, name, None) if f is not None else None


def build_evidence(
    a: Any,
    b: Any = None,
    *,
    paths_a: Sequence[str] | None = None,
    paths_b: Sequence[str] | None = None,
    k: int = 5,
    n_show: int = 12,
    n_typical: int = 4,
    n_pairs: int = 3,
    max_n: int | None = 4000,
    max_per_class: int = 300,
    seed: int = 0,
) -> dict[str, Any]:
    """Select the evidence galleries of A (and B).

    Args:
        a, b: feature sets with ``features`` (N, D), ``labels`` (N,) or None, ``class_names``,
            and optionally ``concepts`` (N, C) logits + ``concept_names``
            (:class:`semsim.features.Features`).
        paths_a, paths_b: file path of each image (:func:`image_paths`), or None.
        k: k-NN neighbourhood of the manifold galleries (as the PRDC scores).
        n_show: images per gallery; ``n_typical`` per class and side; ``n_pairs`` per cell.
        max_n: at most this many images per collection (seeded subsample) for the k-NN and
            cluster galleries, which cost O(N^2).
        max_per_class: at most this many images per class for the class-pair galleries.
        seed: seeds every subsample and the k-means.

    Returns:
        ``{"version", "seed", "k", "n_used", "galleries", "typical", "class_pairs",
        "representation", "timings"}``: JSON-able, images as ``{"set", "index", "path",
        "score", "label"}``.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    xa_all = as_float32(a.features, "a")
    xb_all = None if b is None else as_float32(b.features, "b")
    la, lb = _get(a, "labels"), _get(b, "labels")
    la = None if la is None else np.asarray(la, dtype=np.int64)
    lb = None if lb is None else np.asarray(lb, dtype=np.int64)
    na_, nb_ = _get(a, "class_names"), _get(b, "class_names")
    out: dict[str, Any] = {"version": EVIDENCE_VERSION, "seed": int(seed), "k": int(k)}
    galleries: list[dict[str, Any]] = []
    timings: dict[str, float] = {}

    ia = subsample(len(xa_all), max_n, rng)
    ib = None if xb_all is None else subsample(len(xb_all), max_n, rng)
    out["n_used"] = {"a": int(len(ia))} | ({} if ib is None else {"b": int(len(ib))})
    if xb_all is not None and ib is not None:
        t = time.perf_counter()
        galleries += manifold_galleries(
            xa_all[ia],
            xb_all[ib],
            ia,
            ib,
            k=k,
            n_show=n_show,
            labels=(la, lb),
            names=(na_, nb_),
            paths=(paths_a, paths_b),
        )
        timings["manifold_s"] = time.perf_counter() - t
    out["galleries"] = galleries

    if la is not None:
        t = time.perf_counter()
        ca = _per_class(la, max_per_class, rng)
        cb = None if (lb is None or xb_all is None) else _per_class(lb, max_per_class, rng)
        xb_c = None if cb is None else xb_all[cb]
        lb_c = None if cb is None else lb[cb]
        out["typical"] = typical_images(
            xa_all[ca], la[ca], ca, na_, paths_a, xb_c, lb_c, cb, nb_, paths_b, n_show=n_typical
        )
        # the class matrices of a report are A x A without B, A x B with a labelled B
        if cb is not None:
            pairs = class_pairs(
                xa_all[ca], la[ca], ca, na_, paths_a, xb_c, lb_c, cb, nb_, paths_b, n_pairs
            )
        else:
            pairs = class_pairs(xa_all[ca], la[ca], ca, na_, paths_a, n_pairs=n_pairs)
        out["class_pairs"] = [pairs]
        timings["classes_s"] = time.perf_counter() - t

    if xb_all is not None and ib is not None:
        t = time.perf_counter()
        out["representation"] = _representation(
            a, b, xa_all, xb_all, ia, ib, la, lb, na_, nb_, paths_a, paths_b, seed
        )
        timings["representation_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    out["timings"] = {key: round(v, 3) for key, v in timings.items()}
    return out


def _per_class(labels: np.ndarray, max_per_class: int, rng: np.random.Generator) -> np.ndarray:
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        keep.append(members[subsample(len(members), max_per_class, rng)])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def _representation(a, b, xa, xb, ia, ib, la, lb, na_, nb_, paths_a, paths_b, seed):
    ua, ub = l2_normalise(xa[ia]), l2_normalise(xb[ib])
    out = []
    if la is not None and lb is not None:
        out.append(
            by_class(
                l2_normalise(xa),
                la,
                np.arange(len(xa)),
                na_,
                paths_a,
                l2_normalise(xb),
                lb,
                np.arange(len(xb)),
                nb_,
                paths_b,
            )  # fmt: skip
        )
    ca, cb = _get(a, "concepts"), _get(b, "concepts")
    names = _get(a, "concept_names") or _get(b, "concept_names")
    probs = None
    if ca is not None and cb is not None and names is not None:
        probs = (softmax(np.asarray(ca)[ia]), softmax(np.asarray(cb)[ib]))
    out.append(
        by_cluster(
            ua, ia, paths_a, ub, ib, paths_b, seed=seed, concept_probs=probs, concept_names=names
        )
    )
    if probs is not None:
        out.append(by_concept(probs[0], ia, paths_a, probs[1], ib, paths_b, names))
    return out[1:] + out[:1] if la is not None and lb is not None else out


def attach_evidence(
    report: Any,
    features_a: Any,
    features_b: Any = None,
    collection_a: Any = None,
    collection_b: Any = None,
    *,
    seed: int = 0,
    near_threshold: float = NEAR_DUPLICATE_COSINE,
) -> None:
    """Put the evidence (and, with B, the cross duplicates) into ``report.sections``.

    The one call an entry point makes after :func:`semsim.analysis.analyse`; then
    ``write_html(report, out_dir, thumbnail_loader(collection_a, collection_b))``. Exact
    duplicates need the collections (file bytes or pixels); without them only near ones are
    looked for.
    """
    for f in (features_a, features_b):
        if f is not None and len(f.features) == 0:
            report.sections["evidence"] = {
                "skipped": "no per-image features were kept (streaming mode): no galleries"
            }
            return
    pa = None if collection_a is None else image_paths(collection_a)
    pb = None if collection_b is None else image_paths(collection_b)
    t = time.perf_counter()
    report.sections["evidence"] = build_evidence(
        features_a, features_b, paths_a=pa, paths_b=pb, seed=seed
    )
    if features_b is not None:
        both = collection_a is not None and collection_b is not None
        report.sections["duplicates"] = find_cross_duplicates(
            features_a.features,
            features_b.features,
            content_hashes(collection_a) if both else None,
            content_hashes(collection_b) if both else None,
            threshold=near_threshold,
            paths_a=pa,
            paths_b=pb,
        )
    if isinstance(getattr(report, "meta", None), dict):
        report.meta["evidence_s"] = round(time.perf_counter() - t, 2)


def thumbnail_loader(collection_a: Any, collection_b: Any = None) -> Callable[[str, int], Any]:
    """``thumbnails(set, index) -> PIL.Image`` for :func:`semsim.report.html.write_html`."""

    def load(which: str, index: int) -> Any:
        coll = collection_a if which == "a" else collection_b
        if coll is None:
            raise KeyError(f"no collection {which!r}")
        return coll.load_image(int(index))

    return load
