"""Issue #25 item 1 and the reading fixes: no number outside its meaning, said when it is shaky."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semsim import metrics
from semsim.analysis.trust import (
    MIN_CELL_N,
    guard_scores,
    mark_small_cells,
    shared_images_note,
    small_cell_set,
)
from semsim.report import Headline, MatrixResult, Report, ScoreResult
from semsim.report.html import render_html
from semsim.report.plots import heatmap_spec
from semsim.report.writer import render_markdown


def _result(value, ci=None, **extra) -> ScoreResult:
    return ScoreResult(value=value, ci=ci, extra=dict(extra))


@pytest.mark.parametrize("name", list(metrics.SCORES))
def test_every_registry_score_out_of_range_is_clipped_and_says_so(name: str) -> None:
    sdef = metrics.SCORES[name]
    lo, hi = sdef.range
    for raw in (lo - 20.0, hi + 20.0):
        if math.isinf(raw):
            continue
        r = _result(raw, ci=(raw - 1.0, raw + 1.0))
        guard_scores({name: r}, n_bootstrap=50)
        assert lo <= r.value <= hi and r.value == min(max(raw, lo), hi)
        assert r.extra["clipped_from"] == raw
        assert r.extra["reading"].startswith("unstable: the estimate")
        assert lo <= r.ci[0] <= r.ci[1] <= hi


def test_unclipped_engine_output_is_said_even_when_the_value_was_clipped() -> None:
    # the 6 cats vs 6 cats + 6 ships: shown 1.000, estimate 20.0
    r = _result(1.0, concept_similarity_unclipped=20.0, reading="same content")
    guard_scores({"concept_similarity": r}, n_bootstrap=50)
    assert r.value == 1.0 and r.extra["clipped_from"] == 20.0
    assert "20" in r.extra["reading"] and "clipped" in r.extra["reading"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_value_of_a_bounded_score_is_skipped_with_the_reason(bad: float) -> None:
    r = _result(bad, reading="x")
    guard_scores({"prototype_cosine": r}, n_bootstrap=50)
    assert r.value is None and "not a finite number" in r.skipped and "reading" not in r.extra


def test_value_inside_its_range_is_untouched() -> None:
    r = _result(0.42, ci=(0.3, 0.5), reading="as is")
    guard_scores({"prototype_cosine": r}, n_bootstrap=50)
    assert (r.value, r.ci, r.extra) == (0.42, (0.3, 0.5), {"reading": "as is"})


def test_n_bootstrap_zero_does_not_blame_the_sample_size() -> None:
    r = _result(0.8, reading="inconclusive: no interval at this sample size (too few images)")
    guard_scores({"concept_similarity": r}, n_bootstrap=0)
    assert "n_bootstrap=0" in r.extra["reading"] and "too few" not in r.extra["reading"]


def test_an_interval_beyond_the_noise_floor_reads_different_not_too_wide() -> None:
    # cat vs ship 0.319 [0.110, 0.575]; two halves of the same images give ~1
    r = _result(0.319, ci=(0.110, 0.575), reading="inconclusive: ... too wide to tell")
    r.noise_floor = 0.97
    guard_scores({"concept_similarity": r}, n_bootstrap=50)
    assert r.extra["reading"].startswith("different: the 95% interval [0.11, 0.57]")
    # an interval that reaches the floor stays inconclusive
    r2 = _result(0.8, ci=(0.5, 0.99), reading="inconclusive: too wide")
    r2.noise_floor = 0.97
    guard_scores({"concept_similarity": r2}, n_bootstrap=50)
    assert r2.extra["reading"] == "inconclusive: too wide"
    # lower-is-more-similar: an interval wholly above the floor
    r3 = _result(0.9, ci=(0.8, 1.0), reading="inconclusive")
    r3.noise_floor = 0.5
    guard_scores({"c2st": r3}, n_bootstrap=50)
    assert r3.extra["reading"].startswith("different:") and "above 0.50" in r3.extra["reading"]


def _matrix(rows: list[str], cols: list[str] | None = None) -> MatrixResult:
    shape = (len(rows), len(cols if cols is not None else rows))
    return MatrixResult(values=np.full(shape, 0.5), row_labels=rows, col_labels=cols)


def test_small_cells_are_listed_and_drawn() -> None:
    la = np.repeat([0, 1, 2], [5, 30, 12])  # class 0 has 5 images
    lb = np.repeat([0, 1], [30, 6])  # B's class 1 has 6
    cross = _matrix(["x", "y", "z"], ["u", "v"])
    within = _matrix(["x", "y", "z"])
    mats = {"prototype_cosine": cross, "fd_effnet_lite0": within}
    mark_small_cells({"prototype_cosine": cross}, la, lb)
    mark_small_cells({"fd_effnet_lite0": within}, la)
    # reference: a cell is small when min(count row, count col) < 10
    ca, cb = [5, 30, 12], [30, 6]
    want = {(i, j) for i in range(3) for j in range(2) if min(ca[i], cb[j]) < MIN_CELL_N}
    assert small_cell_set(cross) == want == {(0, 0), (0, 1), (1, 1), (2, 1)}
    assert small_cell_set(within) == {(0, 1), (0, 2), (1, 0), (2, 0)}  # diagonal left alone
    assert cross.to_dict()["small_n"]["below"] == MIN_CELL_N  # report.json
    md = render_markdown(Report(inputs={}, encoder={}, matrices=mats), {})
    assert "**Too few images:** 4 cell(s) rest on a class of fewer than 10 images" in md
    spec = heatmap_spec("prototype_cosine", cross)  # what the heatmap PNG draws
    texts = [t for row in spec.cell_texts for t in row]
    assert sum(t.endswith("*") for t in texts) == 4
    assert spec.title_lines[-1].startswith("* = a class of fewer than 10 images")
    html = render_html(Report(inputs={}, encoder={}, matrices={"prototype_cosine": cross}), None)
    assert html.count("0.500*") == 4 and "4 cell(s) rest on a class of fewer than 10" in html


def test_no_small_cells_no_mark() -> None:
    m = _matrix(["x", "y"])
    mark_small_cells({"prototype_cosine": m}, np.repeat([0, 1], [20, 20]))
    assert "small_n" not in m.extra


def _report() -> Report:
    return Report(
        inputs={}, encoder={},
        similarity=Headline(value=1.0, ci=None, basis="b", definition="d", reading="same content"),
    )  # fmt: skip


def test_same_images_are_said_in_the_headline_reading() -> None:
    rep = _report()
    note = shared_images_note(rep, same_input=True, n_exact=0, n_a=6, n_b=6)
    assert note is not None and rep.similarity.reading.startswith("A and B are the same images")
    assert rep.meta["shared_images"] == note


def test_a_large_exact_duplicate_share_is_said() -> None:
    rep = _report()
    note = shared_images_note(rep, same_input=False, n_exact=5, n_a=100, n_b=40)
    assert note is not None and "share 5 identical images (12% of the smaller" in note
    assert rep.similarity.reading.endswith("same content")
    rep2 = _report()
    assert shared_images_note(rep2, same_input=False, n_exact=3, n_a=100, n_b=40) is None
    assert rep2.similarity.reading == "same content"
