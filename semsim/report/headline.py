"""The headline ``similarity``: one number in [0, 1] a user can quote (1 = indistinguishable).

Definition
----------
Let ``acc`` be the held-out accuracy of the classifier two-sample test (C2ST, Lopez-Paz & Oquab
2017, arXiv:1610.06545) trained to tell A's features from B's on a balanced task. Then::

    similarity = 1 - max(0, 2 * acc - 1)  =  min(1, 2 * (1 - acc))

Why this number
---------------
On a balanced task the best possible classifier reaches accuracy ``(1 + TV(P_A, P_B)) / 2``,
where TV is the total-variation distance between the two feature distributions, so
``1 - (2 acc - 1)`` estimates ``1 - TV = integral of min(p_A, p_B)``: the share of probability
mass the two collections have in common in the encoder's feature space. It is therefore
calibrated at both ends (1 = no classifier beats chance, 0 = perfectly separable), monotone in
how distinguishable the collections are, and independent of the feature dimension; accuracy
below chance is sampling noise and is clipped to 1. A Fréchet-distance term was deliberately
not mixed in: FD is unbounded, depends on the encoder's dimension and is biased at finite n, so
any mapping to [0, 1] would be arbitrary and would blur the probability reading; it is reported
beside the headline with its split-half noise floor instead.

Reading
-------
``similarity = 0.3`` reads "about 30% of the two collections' feature distributions overlap: a
classifier tells an A image from a B image correctly 85% of the time". Since a real classifier is
never better than the optimal one, the value is an upper bound on the overlap (up to sampling
noise); a stronger encoder or classifier can only lower it. The 95% interval comes from the
C2ST accuracy's interval mapped through the same formula.

With one labelled collection (``a`` alone) there is no A-vs-B headline (``"similarity": null``);
the same formula is applied to each class pair and reported as the ``similarity`` matrix.
"""

from __future__ import annotations

import numpy as np

from semsim.report.schema import Headline

DEFINITION = "similarity = 1 - max(0, 2*acc - 1), acc = held-out accuracy of the C2ST classifier"

BANDS: tuple[tuple[float, str], ...] = (
    (0.9, "indistinguishable: a classifier barely beats chance"),
    (0.5, "largely overlapping: mostly alike, with a detectable difference"),
    (0.1, "distinguishable: the collections share part of their content"),
    (0.0, "nearly disjoint: a classifier separates them almost perfectly"),
)


def similarity_from_accuracy(accuracy: float | np.ndarray) -> float | np.ndarray:
    """Map C2ST accuracy (scalar or array) to the headline scale, ``1 - max(0, 2 acc - 1)``.

    NaN stays NaN.
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    out = 1.0 - np.clip(2.0 * acc - 1.0, 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


def describe_similarity(value: float) -> str:
    """A short verbal reading of a headline value."""
    for threshold, text in BANDS:
        if value >= threshold:
            return text
    return BANDS[-1][1]


def headline_from_c2st(accuracy: float, accuracy_ci: tuple[float, float] | None) -> Headline:
    """Build the headline from the C2ST accuracy and its 95% interval."""
    value = similarity_from_accuracy(accuracy)
    ci = None
    if accuracy_ci is not None:
        lo, hi = (similarity_from_accuracy(a) for a in accuracy_ci)
        ci = (min(lo, hi), max(lo, hi))
    overlap = f"{100 * value:.0f}%"
    reading = (
        f"{describe_similarity(value)}; about {overlap} of the two feature distributions "
        f"overlap (a classifier tells A from B {100 * accuracy:.1f}% of the time, chance 50%)"
    )
    return Headline(value=value, ci=ci, basis="c2st", definition=DEFINITION, reading=reading)
