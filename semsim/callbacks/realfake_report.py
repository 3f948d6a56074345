"""The real/fake-specific parts of a report: the seed's pair score as the ``pair_similarity``
score and REAL x FAKE matrix, ``sections["pair_score"]`` and its files (PNG, CSV), and the
description of the REAL and FAKE inputs.

Joins :mod:`semsim.metrics.pair_score` (the maths) to :mod:`semsim.report` (result objects and
files), as :mod:`semsim.analysis` does for the feature scores; used by the real/fake callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semsim.metrics import pair_score as ps
from semsim.report import MatrixResult, Report, ScoreResult, write_report
from semsim.report.html import write_html
from semsim.report.realfake_plots import save_pair_histogram, write_pair_csv

METHOD_NOTE = (
    "The pair score is the seed's per-image-pair similarity 1 - |p(x1) - p(x2)| with p the "
    "trained head's probability of FAKE; `pair_score` gives its distribution over real-real, "
    "fake-fake and real-fake pairs (a head that separates the kinds well gives real_fake scores "
    "near 0 and same-kind scores near 1), `pair_similarity` its exact real-fake mean."
)


def add_pair_score(
    report: Report,
    p_real: np.ndarray,
    p_fake: np.ndarray,
    names: tuple[str, str],
    classes: tuple[np.ndarray, np.ndarray, Sequence[str]] | None = None,
    n_pairs: int = 200_000,
    n_bootstrap: int = 20,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Add the pair score of ``p_real`` ``(N_r,)`` and ``p_fake`` ``(N_f,)`` to ``report``.

    Args:
        report: gains ``scores["pair_similarity"]``, ``matrices["pair_similarity"]`` (when
            ``classes`` is given and both kinds are present), ``sections["pair_score"]``,
            ``meta["pair_score_means"]`` and the CIFAKE reference.
        names: the REAL and FAKE class names.
        classes: ``(class index of each REAL image, of each FAKE image, class names)``.
        n_pairs, n_bootstrap, seed: see :func:`semsim.metrics.pair_score.pair_score_distribution`
            and :func:`~semsim.metrics.pair_score.bootstrap_pair_mean`.

    Returns:
        ``{pair type: the pair scores summarised}``, for the histograms.
    """
    real_name, fake_name = names
    summary, samples = ps.pair_score_distribution(p_real, p_fake, n_pairs, seed)
    if summary["real_fake"].get("n"):
        report.scores["pair_similarity"] = ScoreResult(
            value=summary["real_fake"]["mean"],
            ci=ps.bootstrap_pair_mean(p_real, p_fake, max(n_bootstrap, 0), seed),
            higher_is_more_similar=True,
            meaning=ps.PAIR_MEANING,
            reference=ps.CIFAKE_PAPER,
            extra={
                "real_real_mean": summary["real_real"].get("mean"),
                "fake_fake_mean": summary["fake_fake"].get("mean"),
                "ci_method": "percentile bootstrap over images",
            },
        )
    else:
        report.scores["pair_similarity"] = ScoreResult.skip(
            "no REAL or no FAKE image in the test set", True, ps.PAIR_MEANING, ps.CIFAKE_PAPER
        )
    if classes is not None and len(p_real) and len(p_fake):
        cls_real, cls_fake, class_names = classes
        values, rows, cols = ps.pair_matrix(p_real, cls_real, p_fake, cls_fake)
        report.matrices["pair_similarity"] = MatrixResult(
            values=values,
            row_labels=[str(class_names[r]) for r in rows],
            col_labels=[str(class_names[c]) for c in cols],
            higher_is_more_similar=True,
            meaning=ps.MATRIX_MEANING,
            row_title=real_name,
            col_title=fake_name,
        )
    section = ps.pair_score_section(summary, p_real, p_fake, (real_name, fake_name))
    report.sections["pair_score"] = section
    report.meta["pair_score_means"] = ps.pair_means(section)
    report.method.setdefault("references", []).append(
        {"name": "CIFAKE", "title": ps.CIFAKE_TITLE, "url": ps.CIFAKE_PAPER}
    )
    return samples


@dataclass
class RealFakeResult:
    """One stage's report (``sections["pair_score"]`` included), the pair scores behind its
    histograms (:func:`add_pair_score`'s ``samples``) and ``p`` of the REAL and FAKE images."""

    report: Report
    samples: dict[str, np.ndarray]
    p_real: np.ndarray
    p_fake: np.ndarray
    names: tuple[str, str]
    thumbnails: Callable[[str, int], Any] | None = None

    def write(self, out_dir: str | Path, bins: int = 50) -> dict[str, Path]:
        """``write_report``, ``report.html`` (with the evidence galleries, drawn by
        ``thumbnails(set, index)``), ``pair_score.png`` (histograms) and ``pair_score.csv``."""
        out = Path(out_dir)
        files = write_report(self.report, out)
        files["report.html"] = write_html(self.report, out, self.thumbnails)
        section = self.report.sections["pair_score"]
        files["pair_score.png"] = save_pair_histogram(
            self.samples, self.p_real, self.p_fake, out / "pair_score.png", bins,
            self.report.title, self.names,
        )  # fmt: skip
        by_type = {k: section[k] for k in ps.PAIR_TYPES}
        files["pair_score.csv"] = write_pair_csv(
            by_type, section["p_by_kind"], out / "pair_score.csv"
        )
        return files


def describe_kind(subset: Any, mask: np.ndarray, kind: str, dataset: str, stage: str) -> dict:
    """``inputs`` entry of the REAL or FAKE images (``mask`` over ``subset``), classes counted."""
    out: dict[str, Any] = {"name": f"{kind} images of {dataset}", "n_images": int(mask.sum())}
    out["stage"] = stage
    cls = subset.attributes.get("class")
    if cls is not None:
        codes, names = cls
        counts = np.bincount(codes[mask], minlength=len(names))
        out["classes"] = {str(n): int(c) for n, c in zip(names, counts, strict=True) if c}
    return out


def note_method(
    report: Report, names: tuple[str, str], max_per_class: int | None, embedded: str, classes: bool
) -> None:
    """Say in ``report.method`` (and ``meta``) what A and B are and how the pair score reads."""
    if not classes:
        skipped = report.meta.setdefault("matrices_skipped", {})
        skipped["class matrices"] = "the test set carries no attributes['class']"
    report.method["summary"] += (
        f"\n\nHere A = the {names[0]} and B = the {names[1]} test images, up to "
        f"{max_per_class} per CIFAR-10 class each, embedded by {embedded}. {METHOD_NOTE}"
    )
