"""Appearance: are the two collections rendered alike? (the second headline)

Input: per-image *rendering statistics* (:data:`semsim.features.content.RENDERING_NAMES`: at the
encoder's input size the shape of the luminance spectrum in 8 log-spaced bands, contrast,
brightness, colourfulness, 8-px block edges; at the image's own size its noise level, JPEG
blocking, how much a 2x resampling loses and the share of its 8 x 8 DCT coefficients a JPEG
quantiser would have kept, :mod:`semsim.features.native`), which describe how
an image is rendered (sharpness, noise, compression, colour, tone) far more than what it shows. The score is the Bhattacharyya coefficient of Gaussian fits of the
two collections' statistics:

    BC = exp(-D_B),  D_B = 1/8 dmu' S^-1 dmu + 1/2 ln(det S / sqrt(det S_a det S_b)),
    S = (S_a + S_b) / 2,

in [0, 1], 1 for identical fits (Bhattacharyya 1943; Kailath 1967). It bounds the overlap of the
two distributions (1 - BC <= TV <= sqrt(1 - BC^2)), and, unlike a classifier's accuracy, it keeps
falling smoothly as a degradation grows stronger, so a ladder of degradations reads as a ladder.
Covariances are shrunk 10% towards their diagonals. Both terms are corrected for their
finite-sample expectation: two samples of one distribution give a positive ``D_B`` (64 vs 64
CIFAR-10 images of one rendering read 0.68 uncorrected), so each term has subtracted its mean
over :data:`NULL_SPLITS` random splits of the pooled sets into parts of ``n_a`` and ``n_b``
rows (a permutation null, seeded by the sizes, on the pooled rows in a canonical order so the
score stays symmetric), and is clipped at 0. The analytic Gaussian expectations miss it on real
statistics (the mean term's ``p (1/n_a + 1/n_b) / 8`` is 25-30% too high, the covariance term's
30-40% too low: heavy tails), the permutation null does not assume a shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from semsim.metrics._common import PairEngine, no_interval_reading
from semsim.metrics.scoredef import ScoreDef

SHRINK = 0.1
NULL_SPLITS = 8  # random splits of the pooled sets that estimate D_B's finite-sample bias
MIN_N = 10
WIDE = 0.3
BANDS = (
    (0.8, "rendered alike"),
    (0.5, "rendered somewhat differently"),
    (0.0, "rendered differently (resolution, noise, compression, colour or tone)"),
)


def _cov(x: np.ndarray) -> np.ndarray:
    c = np.atleast_2d(np.cov(x, rowvar=False))
    c = (1 - SHRINK) * c + SHRINK * np.diag(np.diag(c))
    return c + 1e-9 * np.eye(len(c))


def _terms(za: np.ndarray, zb: np.ndarray) -> tuple[float, float]:
    """``D_B``'s mean and covariance terms of Gaussian fits of two standardised sets."""
    sa, sb = _cov(za), _cov(zb)
    s = (sa + sb) / 2
    dm = za.mean(axis=0) - zb.mean(axis=0)
    mean_term = float(dm @ np.linalg.solve(s, dm)) / 8
    cov_term = 0.5 * (
        np.linalg.slogdet(s)[1] - 0.5 * (np.linalg.slogdet(sa)[1] + np.linalg.slogdet(sb)[1])
    )
    return mean_term, float(cov_term)


def null_terms(z: np.ndarray, n_a: int, splits: int = NULL_SPLITS) -> tuple[float, float]:
    """Mean of :func:`_terms` over ``splits`` random splits of the pooled rows ``z`` into ``n_a``
    and ``len(z) - n_a`` rows: both terms' expectation when the two sets are samples of one
    distribution at these sizes. The rows are put in a canonical (lexicographic) order and the
    generator is seeded by the sizes, so the value depends on the pooled set, not its order."""
    n = len(z)
    z = z[np.lexsort(z.T[::-1])]
    n_a = min(n_a, n - n_a)
    rng = np.random.default_rng([n_a, n])
    got = np.zeros(2)
    for _ in range(splits):
        i = rng.permutation(n)
        got += _terms(z[i[:n_a]], z[i[n_a:]])
    return float(got[0] / splits), float(got[1] / splits)


def bhattacharyya_coefficient(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Bhattacharyya coefficient of Gaussian fits of (N_a, p) and (N_b, p) statistics, each term
    of ``D_B`` less its finite-sample expectation (:func:`null_terms`)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    both = np.concatenate([a, b])
    scale = both.std(axis=0)
    keep = scale > 1e-12  # a statistic constant over both sets says nothing
    if not keep.any():
        return {"appearance": 1.0, "appearance_mean_term": 0.0, "appearance_cov_term": 0.0}
    centre = both.mean(axis=0)
    za, zb = (
        ((a - centre) / np.where(keep, scale, 1))[:, keep],
        ((b - centre) / np.where(keep, scale, 1))[:, keep],
    )
    mean_term, cov_term = _terms(za, zb)
    null_mean, null_cov = null_terms(np.concatenate([za, zb]), len(za))
    mean_term, cov_term = max(0.0, mean_term - null_mean), max(0.0, cov_term - null_cov)
    return {
        "appearance": float(np.exp(-(mean_term + cov_term))),
        "appearance_mean_term": mean_term,
        "appearance_cov_term": cov_term,
    }


def appearance_engine() -> PairEngine:
    return PairEngine(
        name="appearance",
        symmetric=True,
        min_n=MIN_N,
        prepare=lambda x: x,
        pair=bhattacharyya_coefficient,
        identity={"appearance": 1.0},
    )


def appearance_reading(
    value: float, ci: tuple[float, float] | None, outputs: Mapping[str, float] | None = None
) -> str:
    """One-line reading of the appearance score, never more confident than its interval."""
    band = next(text for edge, text in BANDS if value >= edge)
    if ci is None:
        return no_interval_reading(band, outputs)
    lo, hi = min(ci), max(ci)
    if hi - lo > WIDE:
        return f"inconclusive: the 95% interval [{lo:.2f}, {hi:.2f}] is too wide to tell"
    return band


SCORE_DEFS = (
    ScoreDef(
        name="appearance",
        family="rendering",
        higher_is_more_similar=True,
        range=(0.0, 1.0),
        meaning="are A and B rendered alike? Bhattacharyya coefficient of Gaussian fits of "
        "per-image rendering statistics (spectrum shape, contrast, brightness, colour, block "
        "edges); 1 = alike",
        paper="https://doi.org/10.1109/TCOM.1967.1089532",
        paper_title="The divergence and Bhattacharyya distance measures in signal selection "
        "(Kailath 1967)",
        min_n=MIN_N,
        noise_floor=False,
        engine=appearance_engine,
        order=6,
        input="rendering",
        appearance_headline=True,
        reading=appearance_reading,
        method="`appearance` (the second headline) describes every image by how it is "
        "rendered, not what it shows: the shares of its luminance power in 8 log-spaced "
        "frequency bands (sharpness, noise), its contrast, brightness and colourfulness, and "
        "its 8-px block edges, and at its own size its noise level, JPEG blocking, the detail "
        "a 2x resampling loses and the share of its 8 x 8 DCT coefficients a JPEG quantiser "
        "keeps (compression); the score is the Bhattacharyya coefficient of Gaussian fits of "
        "the two collections' statistics, less what sampling alone gives (1 = rendered alike).",
    ),
)
