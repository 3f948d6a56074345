"""What content is over- or under-represented in B relative to A: by class, cluster or concept.

Shares are compared with the two-proportion z statistic
``z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b))`` (``p`` the pooled share), so a ranking
favours differences that are large *and* supported by enough images; |z| > 2 is roughly a
significant difference at the 5% level for one group looked at alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from semsim.evidence._common import class_name, item, l2_normalise, sq_dists, top_k


def two_proportion_z(k_a: np.ndarray, n_a: int, k_b: np.ndarray, n_b: int) -> np.ndarray:
    """Two-proportion z statistics of B's share vs A's (0 where both shares are 0 or 1)."""
    k_a, k_b = np.asarray(k_a, dtype=np.float64), np.asarray(k_b, dtype=np.float64)
    pa, pb = k_a / n_a, k_b / n_b
    p = (k_a + k_b) / (n_a + n_b)
    se = np.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (pb - pa) / se, 0.0)
    return z


def _row(name: str, k_a: int, n_a: int, k_b: int, n_b: int, z: float) -> dict[str, Any]:
    return {
        "name": name,
        "n_a": int(k_a),
        "n_b": int(k_b),
        "share_a": round(k_a / n_a, 4),
        "share_b": round(k_b / n_b, 4),
        "z": round(float(z), 3),
        "direction": "over" if z > 0 else ("under" if z < 0 else "same"),
    }


def by_class(
    ua: np.ndarray,
    la: np.ndarray,
    idx_a: np.ndarray,
    names_a: Sequence[str] | None,
    paths_a: Sequence[str] | None,
    ub: np.ndarray,
    lb: np.ndarray,
    idx_b: np.ndarray,
    names_b: Sequence[str] | None,
    paths_b: Sequence[str] | None,
    n_examples: int = 4,
    n_rows: int = 12,
) -> dict[str, Any]:
    """Class shares of A and B (classes matched by name), ranked by |z|.

    Examples: images of the class from the side that has more of it, nearest that side's class
    prototype (``ua``/``ub`` are unit-length features).
    """
    na, nb = len(la), len(lb)

    def counts(lab: np.ndarray, names: Sequence[str] | None) -> dict[str, tuple[int, int]]:
        out = {}
        for c in np.unique(lab):
            out[class_name(np.array([c]), names, 0) or str(c)] = (int(c), int((lab == c).sum()))
        return out

    ca, cb = counts(la, names_a), counts(lb, names_b)
    names = list(ca) + [c for c in cb if c not in ca]
    ka = np.array([ca.get(c, (0, 0))[1] for c in names])
    kb = np.array([cb.get(c, (0, 0))[1] for c in names])
    z = two_proportion_z(ka, na, kb, nb)
    order = np.lexsort((np.arange(len(names)), -np.abs(z)))[:n_rows]
    rows = []
    for r in order:
        row = _row(names[r], ka[r], na, kb[r], nb, z[r])
        side = "b" if z[r] > 0 else "a"
        src = cb if side == "b" else ca
        if names[r] in src and z[r] != 0:
            u, lab, idx, paths = (
                (ub, lb, idx_b, paths_b) if side == "b" else (ua, la, idx_a, paths_a)
            )
            members = np.flatnonzero(lab == src[names[r]][0])
            proto = l2_normalise(u[members].mean(axis=0, keepdims=True))[0]
            cos = (u[members] @ proto).astype(np.float64)
            chosen = top_k(cos, n_examples)
            row["examples"] = [item(side, idx[members[i]], paths, cos[i], names[r]) for i in chosen]
        else:
            row["examples"] = []
        rows.append(row)
    return {
        "by": "class",
        "how": "Each class's share of A and of B, ranked by the two-proportion z statistic "
        "(positive: more of it in B); examples come from the side with more of the class, "
        "nearest that side's class prototype.",
        "rows": rows,
    }


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_iter: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means (k-means++ initialisation, Lloyd iterations) on the rows of ``x``.

    Returns:
        ``(centroids (k, D), assignment (N,))``.
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    k = max(1, min(k, n))
    centroids = np.empty((k, x.shape[1]), dtype=x.dtype)
    centroids[0] = x[rng.integers(n)]
    d2 = sq_dists(x, centroids[:1])[:, 0].astype(np.float64)
    for c in range(1, k):
        total = d2.sum()
        pick = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centroids[c] = x[pick]
        d2 = np.minimum(d2, sq_dists(x, centroids[c : c + 1])[:, 0])
    assign = np.zeros(n, dtype=np.int64)
    for it in range(n_iter):
        new = sq_dists(x, centroids).argmin(axis=1)
        if it > 0 and np.array_equal(new, assign):
            break
        assign = new
        for c in range(k):
            members = assign == c
            if members.any():
                centroids[c] = x[members].mean(axis=0)
    return centroids, assign


def by_cluster(
    ua: np.ndarray,
    idx_a: np.ndarray,
    paths_a: Sequence[str] | None,
    ub: np.ndarray,
    idx_b: np.ndarray,
    paths_b: Sequence[str] | None,
    *,
    n_clusters: int | None = None,
    seed: int = 0,
    n_examples: int = 6,
    n_rows: int = 10,
    cluster_names: list[str] | None = None,
    concept_probs: tuple[np.ndarray, np.ndarray] | None = None,
    concept_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """k-means clusters of the pooled unit-length features; each cluster's share of A and B.

    Args:
        ua, ub: ``(Na, D)``, ``(Nb, D)`` unit-length features.
        n_clusters: default ``clip(sqrt((Na + Nb) / 4), 2, 16)``.
        concept_probs: optional per-image concept posteriors ``(Na, C)``, ``(Nb, C)`` used to name
            each cluster by its most probable concept.
    """
    n_a, n_b = len(ua), len(ub)
    if n_clusters is None:
        n_clusters = int(np.clip(round(np.sqrt((n_a + n_b) / 4)), 2, 16))
    x = np.concatenate([ua, ub])
    centroids, assign = kmeans(x, n_clusters, seed=seed)
    k = len(centroids)
    ka = np.bincount(assign[:n_a], minlength=k)
    kb = np.bincount(assign[n_a:], minlength=k)
    z = two_proportion_z(ka, n_a, kb, n_b)
    order = np.lexsort((np.arange(k), -np.abs(z)))[:n_rows]
    dist = sq_dists(x, centroids)[np.arange(len(x)), assign]
    rows = []
    for c in order:
        name = f"cluster {int(c) + 1}"
        if concept_probs is not None and concept_names is not None:
            probs = np.concatenate(concept_probs)[assign == c]
            if len(probs):
                name += f" ({concept_names[int(probs.mean(axis=0).argmax())]})"
        row = _row(name, ka[c], n_a, kb[c], n_b, z[c])
        side = "b" if z[c] > 0 else "a"
        offset, idx, paths = (n_a, idx_b, paths_b) if side == "b" else (0, idx_a, paths_a)
        n_side = n_b if side == "b" else n_a
        members = np.flatnonzero(assign[offset : offset + n_side] == c)
        chosen = top_k(-dist[offset + members], n_examples)
        row["examples"] = [
            item(side, idx[members[i]], paths, dist[offset + members[i]]) for i in chosen
        ]
        rows.append(row)
    return {
        "by": "cluster",
        "n_clusters": int(k),
        "how": f"k-means (k = {k}, seeded) on the pooled unit-length features of A and B; each "
        "cluster's share of A and of B, ranked by the two-proportion z statistic (positive: more "
        "of it in B); examples come from the side with more of the cluster, nearest its centre.",
        "rows": rows,
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def by_concept(
    pa: np.ndarray,
    idx_a: np.ndarray,
    paths_a: Sequence[str] | None,
    pb: np.ndarray,
    idx_b: np.ndarray,
    paths_b: Sequence[str] | None,
    concept_names: Sequence[str],
    n_rows: int = 10,
    n_examples: int = 4,
) -> dict[str, Any]:
    """Concepts (e.g. ImageNet classes of the encoder's head) whose mean posterior differs most.

    Args:
        pa, pb: ``(Na, C)``, ``(Nb, C)`` posteriors (softmax of the concept logits).
        concept_names: ``C`` names.
    """
    ma, mb = pa.mean(axis=0), pb.mean(axis=0)
    diff = mb - ma
    order = np.lexsort((np.arange(len(diff)), -np.abs(diff)))[:n_rows]
    rows = []
    for c in order:
        side = "b" if diff[c] > 0 else "a"
        p, idx, paths = (pb, idx_b, paths_b) if side == "b" else (pa, idx_a, paths_a)
        chosen = top_k(p[:, c], n_examples)
        rows.append(
            {
                "name": str(concept_names[c]),
                "share_a": round(float(ma[c]), 4),
                "share_b": round(float(mb[c]), 4),
                "diff": round(float(diff[c]), 4),
                "direction": "over" if diff[c] > 0 else "under",
                "examples": [item(side, idx[i], paths, p[i, c]) for i in chosen],
            }
        )
    return {
        "by": "concept",
        "how": "The encoder's own classification head (e.g. ImageNet-1k): concepts whose mean "
        "posterior differs most between B and A (positive: more of it in B); examples are the "
        "images of the side with more of it that give the concept the highest posterior.",
        "rows": rows,
    }
