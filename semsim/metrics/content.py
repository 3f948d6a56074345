"""Content overlap: the share of two collections' content they have in common (the headline).

Input: each image's *content features*, the encoder's embedding of the image in the pair's common
rendering (both collections brought to the poorer resolution and contrast of the two,
:mod:`semsim.features.rendering`; their coarse hues at one saturation when their colours agree,
else grayscale, :mod:`semsim.features.colour`; when one collection is the other's mirror
image, every image turned to face one way; the encoder's plain features instead when those
overlap more, :mod:`semsim.features.as_they_are`). Estimator: a nearest-neighbour two-sample
classifier. The two sets are balanced (the larger one subsampled), pooled, and every image is
labelled by the majority of its ``k`` nearest neighbours (cosine) among the others, left out
itself; ``acc`` is the share labelled correctly and the score is ``min(1, 2 - 2 acc)``
(one-sided: an accuracy below chance, neighbours more mixed than chance, is full overlap).

Why this reads as a share: the best any classifier can do on a balanced task is
``acc = (1 + TV) / 2``, with TV the total-variation distance of the two distributions, so
``1 - |2 acc - 1|`` estimates ``1 - TV``, the overlap of the two distributions. If B takes a share
``p`` of its images from content A lacks (and that content is apart from A's), ``TV = p`` and the
score reads ``1 - p``. A k-NN vote (Cover & Hart 1967; Schilling 1986 for nearest-neighbour
two-sample tests) only sees differences that move an image's neighbourhood, so a small shift
common to every image (what is left of a rendering after the common view) does not add up the
way it does for a linear classifier, which pools it over all images (Lopez-Paz & Oquab 2017).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from semsim.metrics._common import GramBlock, PairEngine, no_interval_reading, row_blocks
from semsim.metrics.scoredef import ScoreDef

if TYPE_CHECKING:
    import torch

K = 10
MIN_N = K + 1
MAX_PER_SET = 5000  # the pooled k-NN is O(n^2): larger sets are subsampled (seeded)
WIDE = 0.3
NEIGHBOUR_SLACK = 8
"""Resamples (:func:`_resamples`) list each pooled row's nearest neighbours long enough that a
resample holds this many times ``k`` of them on average; rows short of ``k`` are looked up
directly."""
BANDS = (
    (0.85, "same content: the two collections depict the same things in like proportions"),
    (0.6, "mostly the same content, with a share that differs"),
    (0.3, "partly the same content"),
    (0.0, "different content: little of what one collection depicts is in the other"),
)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def knn_accuracy(a: np.ndarray, b: np.ndarray, k: int = K, seed: int = 0) -> float:
    """Leave-one-out k-NN (cosine) accuracy of telling balanced A from B, ties split evenly.

    Args:
        a: (N_a, D) features; b: (N_b, D). The larger set is subsampled to the smaller one's size
            (and both to :data:`MAX_PER_SET`) with ``seed``.
    """
    ia, ib = _pick(len(a), len(b), seed)
    m = len(ia)
    x = _unit(np.concatenate([a[ia], b[ib]]).astype(np.float64))
    y = np.r_[np.zeros(m), np.ones(m)]
    kk = min(k, 2 * m - 1)
    correct = 0.0
    for lo in range(0, 2 * m, 2048):
        s = x[lo : lo + 2048] @ x.T
        rows = np.arange(len(s))
        s[rows, lo + rows] = -np.inf
        correct += _votes_right(s, y, y[lo : lo + 2048], kk)
    return correct / (2 * m)


def _votes_right(s: np.ndarray, y: np.ndarray, truth: np.ndarray, kk: int) -> float:
    """How many rows of similarities ``s`` (self excluded) the majority of their ``kk`` nearest
    columns' labels ``y`` gets right (a tie counts a half)."""
    nn = _top_indices(s, kk)
    vote = y[nn].mean(axis=1)
    right = np.where(truth == 1, vote > 0.5, vote < 0.5).astype(float)
    return float(np.where(vote == 0.5, 0.5, right).sum())


def content_overlap(a: np.ndarray, b: np.ndarray, k: int = K, seed: int = 0) -> dict[str, float]:
    """``{"content_similarity": min(1, 2 - 2 acc), "content_similarity_knn_acc": acc}``."""
    acc = knn_accuracy(np.asarray(a, np.float64), np.asarray(b, np.float64), k, seed)
    # one-sided: an accuracy below chance (neighbours more mixed than chance, e.g. shared images)
    # is overlap, not a difference
    return {
        "content_similarity": float(np.clip(2.0 - 2.0 * acc, 0.0, 1.0)),
        "content_similarity_knn_acc": acc,
    }


def _pick(n_a: int, n_b: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows :func:`knn_accuracy` keeps of each set (the same seeded draws)."""
    rng = np.random.default_rng(seed)
    m = min(n_a, n_b, MAX_PER_SET)
    ia = np.sort(rng.permutation(n_a)[:m]) if n_a > m else np.arange(n_a)
    ib = np.sort(rng.permutation(n_b)[:m]) if n_b > m else np.arange(n_b)
    return ia, ib


@dataclass(frozen=True)
class _Cosines:
    """One set on the Gram route: its rows' inverse norms, within-set cosine similarities, and
    (filled on first use) each row's ``kk`` largest within-set similarities, itself left out."""

    inv: np.ndarray
    cos: np.ndarray
    tops: dict = field(default_factory=dict, compare=False)

    def top(self, kk: int) -> torch.Tensor:
        if kk not in self.tops:
            import torch

            s = torch.from_numpy(self.cos).clone()
            s.fill_diagonal_(-torch.inf)
            self.tops[kk] = torch.topk(s, kk, dim=1).values
        return self.tops[kk]


def _prepare_block(x: np.ndarray, block: GramBlock) -> _Cosines:
    d = block.take_dots()
    norm = np.sqrt(np.maximum(np.diag(d), 0.0))
    inv = 1.0 / np.where(norm > 0, norm, 1.0)
    return _Cosines(inv, _cosines(d, inv, inv))


def _cosines(dots: np.ndarray, inv_a: np.ndarray, inv_b: np.ndarray) -> np.ndarray:
    """``dots * inv_a[:, None] * inv_b[None, :]``, scaling ``dots`` in place (taken from the
    block: :attr:`PairEngine.takes_block`; two divisions by the norms into a new array took 6x
    as long)."""
    dots *= inv_a[:, None]
    dots *= inv_b[None, :]
    return dots


def _pair_block(sa: _Cosines, sb: _Cosines, cross: GramBlock, k: int, seed: int) -> dict:
    """:func:`content_overlap` from cosine blocks (the pooled Gram matrix, computed once for
    every resample and class pair) instead of the rows."""
    cab = _cosines(cross.take_dots(), sa.inv, sb.inv)
    ia, ib = _pick(len(sa.inv), len(sb.inv), seed)
    m = len(ia)
    kk = min(k, 2 * m - 1)
    if m == len(sa.inv) == len(sb.inv) and kk < m:
        # both sets whole: a row's kk nearest among the pooled others are the kk largest of its
        # own set's kk nearest (kept per set, so a class pays for them once in a class matrix)
        # and its kk nearest in the other set, so the pooled 2m x 2m matrix is never built
        import torch

        c = torch.from_numpy(cab)
        right = _merged_votes_right(sa.top(kk), torch.topk(c, kk, dim=1).values, kk)
        right += _merged_votes_right(sb.top(kk), torch.topk(c.T, kk, dim=1).values, kk)
    else:
        s = np.block(
            [
                [sa.cos[np.ix_(ia, ia)], cab[np.ix_(ia, ib)]],
                [cab[np.ix_(ia, ib)].T, sb.cos[np.ix_(ib, ib)]],
            ]
        )
        np.fill_diagonal(s, -np.inf)
        y = np.r_[np.zeros(m), np.ones(m)]
        right = _votes_right(s, y, y, kk)
    acc = right / (2 * m)
    return {"content_similarity": float(np.clip(2.0 - 2.0 * acc, 0.0, 1.0)),
            "content_similarity_knn_acc": acc}  # fmt: skip


def _merged_votes_right(own: torch.Tensor, other: torch.Tensor, kk: int) -> float:
    """How many rows the majority of their ``kk`` nearest gets right, given each row's ``kk``
    largest similarities in its own set (``own``) and in the other set (``other``)."""
    import torch

    nn = torch.topk(torch.cat([own, other], 1), kk, dim=1).indices
    vote = (nn < kk).double().mean(1)  # share of the neighbours from the row's own set
    return float(torch.where(vote == 0.5, 0.5, (vote > 0.5).double()).sum())


def _resamples(
    x: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], k: int, seed: int
) -> list[dict[str, float]]:
    """:func:`content_overlap` of ``x[ia]`` vs ``x[ib]`` for every split, from each pooled row's
    nearest neighbours found once: a resample's ``kk`` nearest of a row are the first ``kk`` of
    the row's pooled neighbours (in order) that the resample holds. The list is long enough that
    a resample holds :data:`NEIGHBOUR_SLACK` ``kk`` of them on average; a row with fewer than
    ``kk`` among them gets its neighbours from its resample's rows directly. Same values as the engine up to rounding and
    the order of exactly tied similarities."""
    u = _unit(np.asarray(x, np.float64))
    n = len(u)
    picks = []
    for ia, ib in splits:
        pa, pb = _pick(len(ia), len(ib), seed)
        picks.append((ia[pa], ib[pb]))
    fewest = min(len(sa) for sa, _ in picks)
    width = min(n - 1, max(k, int(np.ceil(NEIGHBOUR_SLACK * k * n / (2 * fewest)))))
    nearest = _pooled_nearest(u, width)
    out = []
    for sa, sb in picks:
        m = len(sa)
        kk = min(k, 2 * m - 1)
        label = np.zeros(n, np.int8)
        label[sa], label[sb] = 1, 2
        rows = np.concatenate([sa, sb])
        own = label[rows]
        lab = label[nearest[rows]]
        held = lab > 0
        rank = np.cumsum(held, axis=1, dtype=np.int32)
        same = ((rank <= kk) & held & (lab == own[:, None])).sum(axis=1)
        shorts = np.flatnonzero(rank[:, -1] < kk)  # too few of their listed neighbours held
        for chunk in row_blocks(len(shorts), len(rows)):  # bounded memory however many
            short = shorts[chunk]
            s = u[rows[short]] @ u[rows].T
            s[np.arange(len(short)), short] = -np.inf
            nn = _top_indices(s, kk)
            same[short] = (own[nn] == own[short, None]).sum(axis=1)
        right = np.where(2 * same > kk, 1.0, np.where(2 * same == kk, 0.5, 0.0)).sum()
        acc = float(right) / (2 * m)
        out.append({"content_similarity": float(np.clip(2.0 - 2.0 * acc, 0.0, 1.0)),
                    "content_similarity_knn_acc": acc})  # fmt: skip
    return out


def _top_indices(s: np.ndarray, kk: int) -> np.ndarray:
    """Column indices of each row's ``kk`` largest values, largest first (torch's topk is
    threaded; numpy's argpartition is not)."""
    import torch

    return torch.topk(torch.from_numpy(s), kk, dim=1).indices.numpy()


def _pooled_nearest(u: np.ndarray, width: int) -> np.ndarray:
    """(N, width) each unit row's ``width`` most similar other rows (cosine), most similar first."""
    n = len(u)
    nearest = np.empty((n, width), np.int64)
    for rows in row_blocks(n, n):
        s = u[rows] @ u.T
        s[np.arange(len(s)), np.arange(rows.start, rows.stop)] = -np.inf
        nearest[rows] = _top_indices(s, width)
    return nearest


def content_engine(k: int = K, seed: int = 0) -> PairEngine:
    """Engine: rows are kept as they are; every pair runs the pooled k-NN vote (from the rows,
    or from the pooled Gram matrix when the analysis shares one)."""
    return PairEngine(
        name="content_similarity",
        symmetric=True,
        min_n=MIN_N,
        prepare=lambda x: x,
        pair=lambda p, q: content_overlap(p, q, k, seed),
        identity={"content_similarity": 1.0},
        prepare_block=_prepare_block,
        pair_block=lambda p, q, cross: _pair_block(p, q, cross, k, seed),
        takes_block=True,
        resamples=lambda x, splits: _resamples(x, splits, k, seed),
    )


def content_reading(
    value: float, ci: tuple[float, float] | None, outputs: Mapping[str, float] | None = None
) -> str:
    """One-line reading of a content overlap, never more confident than its interval."""
    if ci is None:
        return no_interval_reading(_band(value), outputs)
    lo, hi = min(ci), max(ci)
    if hi - lo > WIDE:
        return (
            f"inconclusive: the 95% interval [{lo:.2f}, {hi:.2f}] is too wide to tell at this "
            "sample size"
        )
    if _band(lo) == _band(hi):
        return _band(value)
    return f"between '{_short(lo)}' and '{_short(hi)}' (interval [{lo:.2f}, {hi:.2f}])"


def _band(v: float) -> str:
    return next(text for edge, text in BANDS if v >= edge)


def _short(v: float) -> str:
    return _band(v).split(":")[0].split(",")[0]


SCORE_DEFS = (
    ScoreDef(
        name="content_similarity",
        family="content",
        higher_is_more_similar=True,
        range=(0.0, 1.0),
        meaning="share of content A and B have in common, whatever the rendering: min(1, 2 - 2 acc) "
        "of a k-NN classifier telling them apart on content features (common resolution; "
        "coarse hues when the pair's colours agree, else grayscale; a mirrored set alike; the "
        "plain features when they overlap more); B "
        "with a share p of "
        "content A lacks reads ~1 - p",
        paper="https://arxiv.org/abs/1610.06545",
        paper_title="Revisiting classifier two-sample tests (Lopez-Paz & Oquab 2017)",
        min_n=MIN_N,
        noise_floor=False,
        engine=content_engine,
        order=5,
        input="content",
        headline=True,
        reading=content_reading,
        seeded=True,
        method="`content_similarity` (the headline) embeds every image a second time in the "
        "pair's common rendering, the poorer rendering of the two: at each image's own size both "
        "collections are first put on one tone curve (or, when one collection's images were each "
        "put on one histogram, every image onto it) and under one illumination field (radial, "
        "then from one side), then the "
        "better collection is resampled onto the other's coarser grid (or blurred as the other "
        "is: a Gaussian, a lens's disk, or a camera's motion along one line), JPEG-compressed to "
        "its blocking or given its (white) noise, both are resampled onto the 2x coarser grid when "
        "they are rendered differently (a step fires, or their spectra differ once the tone and "
        "shading steps have put them on one curve), and at the encoder's size each "
        "collection's luminance is attenuated, frequency by frequency, to the poorer of the two mean spectra (never the "
        "reverse: nothing is restored); colour is kept as a coarse layout of hues at one "
        "saturation when both collections have colour and their hues agree (a permutation test "
        "of the energy distance), else both are read in grayscale; when one collection is the "
        "other's mirror image, every image is turned to face one way (its brighter half on the "
        "right). A k-NN classifier "
        f"(k={K}, cosine, leave-one-out, balanced sets) then tries to tell A from B on these "
        "features; its accuracy acc estimates (1 + TV) / 2, so min(1, 2 - 2 acc) estimates the "
        "share of the two distributions that overlap (Lopez-Paz & Oquab 2017). The steps are "
        "planned from the two collections' statistics, which a difference of content moves too: "
        "when the plain features (the images as they are) overlap more than the planned view's, "
        "the plain features are read instead. No vocabulary "
        "is involved: any encoder's embedding works. The steps each collection got are in the "
        "report's inputs (`content_view`).",
    ),
)
