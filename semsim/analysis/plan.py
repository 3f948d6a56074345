"""Whether class matrices will be computed: decided before any feature is extracted (light: no
numpy maths, no torch, so ``semsim.compare`` can answer a bad option in well under a second)."""

from __future__ import annotations

from typing import Literal

ClassMatrices = Literal["auto"] | bool


def plan_matrices(
    *, a_labelled: bool, b_given: bool, b_labelled: bool, class_matrices: ClassMatrices
) -> bool:
    """Whether class matrices will be computed; raises when there is nothing to compute.

    Args:
        class_matrices: ``"auto"`` (when every given collection is labelled), True (required:
            an unlabelled collection is an error) or False.

    Raises:
        ValueError: a bad ``class_matrices``; class matrices required of an unlabelled
            collection; or ``a`` alone without matrices to compute.
    """
    if class_matrices not in ("auto", True, False):
        raise ValueError(f"class_matrices must be auto, true or false, got {class_matrices!r}")
    if class_matrices is True:
        if not a_labelled:
            raise ValueError("class_matrices=true, but collection A is unlabelled")
        if b_given and not b_labelled:
            raise ValueError("class_matrices=true, but collection B is unlabelled")
    want = class_matrices is not False and a_labelled and (not b_given or b_labelled)
    if not b_given and not want:
        why = "is unlabelled" if not a_labelled else "was given with class_matrices=false"
        raise ValueError(
            f"collection A {why} and no B is given: nothing to compute (give b=... to compare "
            "two collections, or a labelled A for its class x class matrices)"
        )
    return want


def check_n_bootstrap(n: int) -> int:
    """The one check of ``n_bootstrap``: 0 (no intervals) or >= 2 half-samples."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n == 1:
        raise ValueError(f"n_bootstrap must be 0 (no intervals) or >= 2, got {n!r}")
    return n
