"""Verbal readings of similarity values, never worded more confidently than their interval.

A reading names the band of a value in [0, 1] (1 = indistinguishable) only when the data support
it: a wide interval (wider than :data:`WIDE`) reads "inconclusive", and so does a value below the
top band when its test is not significant (no difference was shown, but none is ruled out).
When the interval straddles two bands the reading names both.
"""

from __future__ import annotations

BANDS: tuple[tuple[float, str], ...] = (
    (0.9, "indistinguishable: a classifier barely beats chance"),
    (0.5, "largely overlapping: mostly alike, with a detectable difference"),
    (0.1, "distinguishable: the collections share part of their content"),
    (0.0, "nearly disjoint: a classifier separates them almost perfectly"),
)
"""(lower edge, text) of each band of a [0, 1] similarity, highest first."""

WIDE = 0.3
"""An interval wider than this reads "inconclusive"."""

ALPHA = 0.05
"""Significance level of the test behind a reading."""


def _band(value: float) -> int:
    for i, (threshold, _) in enumerate(BANDS):
        if value >= threshold:
            return i
    return len(BANDS) - 1


def describe_similarity(
    value: float, ci: tuple[float, float] | None = None, p_value: float | None = None
) -> str:
    """A short reading of a similarity in [0, 1], as confident as ``ci`` and ``p_value`` allow.

    Args:
        value: the similarity (1 = indistinguishable).
        ci: its interval, or None (then only ``value`` and ``p_value`` are read).
        p_value: p-value of the test of "A and B differ", or None when there is no test.
    """
    lo, hi = (value, value) if ci is None else (min(ci), max(ci))
    if hi - lo > WIDE:
        return (
            f"inconclusive: the 95% interval [{lo:.2f}, {hi:.2f}] is too wide to tell at this "
            "sample size"
        )
    if p_value is not None and p_value >= ALPHA and _band(lo) > 0:
        return (
            f"inconclusive: no significant difference (p = {p_value:.2g}), but the interval "
            f"[{lo:.2f}, {hi:.2f}] does not rule one out"
        )
    b_hi, b_lo = _band(hi), _band(lo)
    if b_hi == b_lo:
        return BANDS[b_hi][1]
    if b_lo - b_hi == 1:
        return f"between {BANDS[b_lo][1].split(':')[0]} and {BANDS[b_hi][1].split(':')[0]}"
    return f"inconclusive: the interval [{lo:.2f}, {hi:.2f}] spans several bands"
