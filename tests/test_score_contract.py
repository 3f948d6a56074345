"""The contract every registry score keeps (issue #23, item 4), checked for each entry of
``semsim.metrics.SCORES``: a score added to the registry is tested here with no edit.

For every score: its values lie in its declared range; its declared direction holds (A vs a new
sample of A's distribution is more similar than A vs another distribution); A vs A sits at the
engine's identity value (the matrices' diagonal); it is symmetric where its engine says so; a
class-matrix cell equals the score of that pair of classes computed alone; its streaming form
(where it has one) equals the batch value when the summaries hold every row; its interval
contains its value; and the docs' score table has a row for it. The references are computed by
the score's plain ``ScoreDef.compute`` on the pair itself, the quantities being checked
(matrices, streaming, analysis) by their own code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.analysis import compare_scores
from semsim.analysis.intervals import engine_ci
from semsim.metrics import SCORES, ScoreDef, class_matrix, summarize, summary_scores

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(SCORES)  # read from the registry, never listed by hand


def _feats(rng: np.random.Generator, n: int, axis: int) -> np.ndarray:
    mu = np.zeros(8)
    mu[axis] = 5.0
    return rng.normal(size=(n, 8)) + mu


def _logits(rng: np.random.Generator, n: int, lo: int) -> np.ndarray:
    """(n, 1000) class-head logits, each row peaked on one class of ``lo .. lo + 99``."""
    x = rng.normal(size=(n, 1000))
    x[np.arange(n), rng.integers(lo, lo + 100, n)] += 10.0
    return x


def _sets(sdef: ScoreDef, seed: int = 0, n: int = 60) -> tuple[np.ndarray, ...]:
    """``(A, A2, B)``: A and A2 from one distribution, B from another."""
    rng = np.random.default_rng(seed)
    if sdef.input == "concepts":
        return _logits(rng, n, 0), _logits(rng, n, 0), _logits(rng, n, 900)
    return _feats(rng, n, 0), _feats(rng, n, 0), _feats(rng, n, 1)


@dataclass
class _Set:
    """A feature set as the analysis reads it: each score reads the array its ``input`` names."""

    features: np.ndarray
    concepts: np.ndarray | None = None
    labels: np.ndarray | None = None
    class_names: list[str] | None = None


def _as_set(sdef: ScoreDef, x: np.ndarray) -> _Set:
    return _Set(x[:, :8], x) if sdef.input == "concepts" else _Set(x)


def _more_similar(sdef: ScoreDef, x: float, y: float) -> bool:
    return x > y if sdef.higher_is_more_similar else x < y


@pytest.fixture(params=NAMES)
def sdef(request: pytest.FixtureRequest) -> ScoreDef:
    return SCORES[request.param]


def test_range_and_direction(sdef: ScoreDef) -> None:
    a, a2, b = _sets(sdef)
    lo, hi = sdef.range
    same, diff = sdef.compute(a, a2), sdef.compute(a, b)
    for v in (same, diff, sdef.compute(b, a), sdef.compute(a, a)):
        assert lo <= v <= hi
    assert _more_similar(sdef, same, diff), (same, diff)


def test_a_vs_a_is_the_identity_end(sdef: ScoreDef) -> None:
    """The engine's identity value (what a one-collection matrix puts on its diagonal) is the
    similar end: a new sample of A's distribution lands nearer to it than another distribution."""
    a, a2, b = _sets(sdef, seed=1)
    ident = sdef.engine().identity[sdef.key]
    same, diff = sdef.compute(a, a2), sdef.compute(a, b)
    assert abs(same - ident) < abs(diff - ident), (ident, same, diff)
    assert sdef.range[0] <= ident <= sdef.range[1]


def test_symmetric_where_the_engine_says_so(sdef: ScoreDef) -> None:
    """Exactly, or for a score drawn with a seed (the C2ST's folds depend on the order of the
    rows) within its own interval's half-width."""
    a, a2, b = _sets(sdef, seed=2)
    if not sdef.engine().symmetric:
        pytest.skip(f"{sdef.name}: not symmetric (A is the reference)")
    for x, y in ((a, b), (a, a2)):
        ab, ba = sdef.engine()(x, y), sdef.engine()(y, x)
        if sdef.seeded and sdef.interval:
            lo, hi = engine_ci(sdef, ab)
            assert abs(ab[sdef.key] - ba[sdef.key]) <= (hi - lo) / 2
        else:
            assert ab[sdef.key] == pytest.approx(ba[sdef.key], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("cross", [False, True])
def test_matrix_cell_equals_the_pair_scored_alone(sdef: ScoreDef, cross: bool) -> None:
    rng = np.random.default_rng(3)
    a, a2, b = _sets(sdef, seed=3, n=24)
    x, y = np.concatenate([a, b]), np.concatenate([a2, b[::-1]])
    lx, ly = rng.permutation(np.repeat([0, 1, 2], 16)), rng.permutation(np.repeat([0, 1, 2], 16))
    m = class_matrix(x, lx, sdef.name, y if cross else None, ly if cross else None)
    cols, lc = (y, ly) if cross else (x, lx)
    for i in range(3):
        for j in range(3):
            if i == j and not cross:
                assert m[i, j] == sdef.engine().identity[sdef.key]
                continue
            mirrored = not cross and i > j and sdef.engine().symmetric  # one pair computed
            want = (
                sdef.compute(x[lx == j], x[lx == i])
                if mirrored
                else sdef.compute(x[lx == i], cols[lc == j])
            )
            assert m[i, j] == pytest.approx(want, rel=1e-9, abs=1e-12), (i, j)


def test_streaming_equals_batch(sdef: ScoreDef) -> None:
    if sdef.streaming is None:
        pytest.skip(f"{sdef.name}: no streaming form")
    a, _, b = _sets(sdef, seed=4, n=80)
    sa = summarize(torch.from_numpy(a).split(25), a.shape[1], capacity=200)
    sb = summarize(torch.from_numpy(b).split(30), b.shape[1], capacity=200)
    got = summary_scores(sa, sb, scores=[sdef.name])[sdef.name]
    assert got == pytest.approx(sdef.compute(a, b), rel=1e-6, abs=1e-9)


def test_interval_contains_the_value(sdef: ScoreDef) -> None:
    a, a2, _ = _sets(sdef, seed=5)
    got = compare_scores(_as_set(sdef, a), _as_set(sdef, a2), [sdef.name], n_bootstrap=8, seed=5)
    name, r = next(iter(got.items()))
    assert r.value is not None, (name, r.skipped)
    if not sdef.seeded:  # seeded scores get the analysis' seed
        assert r.value == pytest.approx(sdef.compute(a, a2), rel=1e-9, abs=1e-12)
    assert r.ci is not None, (name, r.extra)
    assert sdef.range[0] <= r.ci[0] <= r.value <= r.ci[1] <= sdef.range[1]


def test_documented_in_the_score_table(sdef: ScoreDef) -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    text = "\n".join(p.read_text("utf-8") for p in pages if p.is_file())
    row = f"| `{sdef.name}_<encoder>`" if sdef.encoder_named else f"| `{sdef.name}` |"
    assert row in text, f"{sdef.name}: no row in the docs' score table"
