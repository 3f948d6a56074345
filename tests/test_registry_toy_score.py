"""A score added through the registry alone reaches every output (issue #14)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim import metrics
from semsim.analysis import analyse
from semsim.metrics import SCORES, PairEngine, ScoreDef, registry, summarize, summary_scores
from semsim.report import write_report

ENC = {"name": "tf_efficientnet_lite0", "key": "effnet_lite0"}


TOY_MODULE = '''"""A toy divergence: the gap between the first coordinates' means."""

import numpy as np

from semsim.metrics._common import PairEngine
from semsim.metrics.scoredef import ScoreDef


def toy_engine() -> PairEngine:
    return PairEngine(
        "toy", True, 1, lambda x: float(x[:, 0].mean()),
        lambda p, q: {"toy_gap": abs(p - q)}, {"toy_gap": 0.0},
    )


def _stream(s, o):
    mu_a, _, mu_b, _ = s.stats()
    return {"toy_gap": abs(float(mu_a[0] - mu_b[0]))}


SCORE_DEFS = (
    ScoreDef(
        name="toy_gap", family="content", higher_is_more_similar=False, range=(0.0, np.inf),
        meaning="gap between the first coordinates", paper="https://example.org/toy",
        paper_title="A toy score (Nobody 2025)", min_n=2, noise_floor=True, engine=toy_engine,
        order=15, streaming=_stream, method="`toy_gap` is the toy score of the registry test.",
    ),
)
'''


def _toy_engine() -> PairEngine:
    return PairEngine(
        "toy", True, 1, lambda x: float(x[:, 0].mean()),
        lambda p, q: {"toy_gap": abs(p - q)}, {"toy_gap": 0.0},
    )  # fmt: skip


@dataclass
class Feats:
    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    concepts: np.ndarray | None = None


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The toy score added the way a new score is: one module in the package, nothing else
    edited (the module lands in a folder appended to ``semsim.metrics.__path__``)."""
    folder = tmp_path / "more_metrics"
    folder.mkdir()
    (folder / "toy_gap.py").write_text(TOY_MODULE)
    monkeypatch.setattr(metrics, "__path__", [*metrics.__path__, str(folder)])
    registry.refresh()
    yield SCORES["toy_gap"]
    monkeypatch.undo()
    sys.modules.pop("semsim.metrics.toy_gap", None)
    registry.refresh()
    assert "toy_gap" not in SCORES


def _sets(seed: int = 0) -> tuple[Feats, Feats]:
    rng = np.random.default_rng(seed)
    xa, xb = rng.normal(size=(40, 4)), rng.normal(size=(40, 4)) + 0.5
    lab = np.repeat([0, 1], 20)
    return Feats(xa, lab, ["cat", "dog"]), Feats(xb, lab, ["cat", "dog"])


def test_toy_score_reaches_json_markdown_and_matrices(toy: ScoreDef, tmp_path: Path) -> None:
    assert list(SCORES).index("toy_gap") == 1  # order=15: after concept_similarity (10)
    a, b = _sets()
    report = analyse(a, b, encoder=ENC, n_bootstrap=4, seed=0)  # scores=None: whole registry
    write_report(report, tmp_path)
    d = json.loads((tmp_path / "report.json").read_text())
    s = d["scores"]["toy_gap"]
    gap = abs(a.features[:, 0].mean() - b.features[:, 0].mean())
    assert s["value"] == pytest.approx(gap, rel=1e-12)
    assert s["family"] == "content" and s["higher_is_more_similar"] is False
    assert s["ci"] is not None and s["noise_floor"] is not None  # half-sample CI, noise floor
    m = np.asarray(d["matrices"]["toy_gap"]["row_labels"] and d["matrices"]["toy_gap"]["values"])
    x0a = [a.features[a.labels == c, 0].mean() for c in (0, 1)]
    x0b = [b.features[b.labels == c, 0].mean() for c in (0, 1)]
    np.testing.assert_allclose(m, np.abs(np.subtract.outer(x0a, x0b)), rtol=1e-12)
    md = (tmp_path / "report.md").read_text()
    assert "`toy_gap`" in md and "toy score of the registry test" in md
    assert "A toy score (Nobody 2025)" in md and "toy_gap.png" in md
    content = md.index("### Content")
    assert content < md.index("| `toy_gap`") < md.index("### Rendering")


def test_toy_score_in_one_collection_matrices_as_the_callback_runs_them(toy: ScoreDef) -> None:
    # SimilarityMatrixCallback.run calls analyse(features, class_matrices=True, scores=...)
    # with its configured scores; conf/callbacks/similarity.yaml gives null = the registry
    from semsim.callbacks.similarity import SimilarityMatrixCallback

    cb = SimilarityMatrixCallback(out_dir="unused")
    assert "toy_gap" in cb.scores
    a, _ = _sets(1)
    report = analyse(a, encoder=ENC, scores=["toy_gap"], class_matrices=True, n_bootstrap=0)
    m = report.matrices["toy_gap"]
    assert m.family == "content" and np.allclose(np.diag(m.values), 0.0)


def test_toy_score_streams_through_the_registry(toy: ScoreDef) -> None:
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(300, 3)), rng.normal(size=(200, 3)) + 1.0
    sa = summarize([torch.from_numpy(xa)], 3, capacity=50)
    sb = summarize([torch.from_numpy(xb)], 3, capacity=50)
    got = summary_scores(sa, sb)
    assert "toy_gap" in metrics.streaming_scores()
    assert got["toy_gap"] == pytest.approx(abs(xa[:, 0].mean() - xb[:, 0].mean()), rel=1e-10)


def test_a_score_whose_input_is_absent_is_skipped_with_the_reason(monkeypatch) -> None:
    sdef = ScoreDef(
        name="toy_concepts",
        family="content",
        higher_is_more_similar=True,
        range=(0.0, float("inf")),
        meaning="toy on class-head logits",
        min_n=1,
        noise_floor=False,
        engine=_toy_engine,
        key="toy_gap",
        input="concepts",
    )
    monkeypatch.setitem(SCORES, "toy_concepts", sdef)
    a, b = _sets(3)
    r = analyse(a, b, encoder=ENC, scores=["toy_concepts", "fd"], n_bootstrap=0)
    assert r.scores["toy_concepts"].value is None
    assert "concepts" in r.scores["toy_concepts"].skipped
    assert r.meta["matrices_skipped"]["toy_concepts"].startswith("needs the encoder's")
    # with concept logits present, the score reads them (not the features)
    a.concepts, b.concepts = a.features * 0 + 1.0, b.features * 0 + 3.0
    r = analyse(a, b, encoder=ENC, scores=["toy_concepts"], n_bootstrap=0, noise_floor=False)
    assert r.scores["toy_concepts"].value == pytest.approx(2.0)
