"""report.md / report.html / terminal: A and B named everywhere, one noise-floor definition that
matches the code, n/a and negative floors explained, one score name per encoder."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from rich.console import Console

from semsim.analysis.method import method_section
from semsim.analysis.naming import report_name
from semsim.metrics import noise_floor
from semsim.report import MatrixResult, Report, ScoreResult, print_summary, render_markdown
from semsim.report.html import render_html
from semsim.report.notes import FLOOR_DEFINITION

ROOT = Path(__file__).resolve().parents[1]
A_LABEL = "cifake/train (kinds=[REAL])"
B_LABEL = "cifake/train (kinds=[FAKE]; classes=[cat, dog])"


def _report(meta: dict | None = None) -> Report:
    source = {"kind": "cifake", "root": "/data/cifake", "label": "class"}
    square = np.array([[1.0, 0.4], [0.4, 1.0]])
    cross = np.array([[0.9, 0.1], [0.2, 0.8]])
    return Report(
        inputs={
            "a": {"name": "cifake/train", "n_images": 40, "source": {**source, "kinds": ["REAL"]}},
            "b": {
                "name": "cifake/train",
                "n_images": 40,
                "source": {**source, "kinds": ["FAKE"], "classes": ["cat", "dog"]},
            },
        },
        encoder={"key": "effnet_lite0", "name": "tf_efficientnet_lite0"},
        scores={
            "kid": ScoreResult(0.002, (0.0, 0.004), -0.0004, False, family="rendering"),
            "precision": ScoreResult(0.8, (0.7, 0.9), None, True, family="rendering"),
            "fd_effnet_lite0": ScoreResult(
                30.0,
                (25.0, 35.0),
                None,
                False,
                family="rendering",
                extra={"noise_floor_skipped": "half of the smaller collection is under 2 images"},
            ),  # fmt: skip
            "cmmd": ScoreResult(0.5, (0.4, 0.6), 0.1, False, family="rendering"),
        },
        matrices={
            "concept_similarity": MatrixResult(cross, ["cat", "dog"], ["cat", "dog"]),
            "prototype_cosine": MatrixResult(square, ["cat", "dog"]),
        },
        meta=meta if meta is not None else {"seed": 0, "noise_floor": True},
        # what the analysis records from the registry (report/notes.py reads it, not metrics)
        method={"noise_floors": {"kid": True, "precision": False, "fd_effnet_lite0": True}},
        title="semsim: cifake/train vs cifake/train",
    )


def _flat(text: str) -> str:
    """Whitespace-normalised text with Markdown emphasis removed (docs wrap lines)."""
    return " ".join(text.replace("*", "").split())


def test_markdown_names_a_and_b_with_their_filters() -> None:
    md = render_markdown(_report(), {})
    assert f"**A** (the reference) = `{A_LABEL}`; **B** (compared with A) = `{B_LABEL}`." in md
    assert f"## Scores: A = {A_LABEL} vs B = {B_LABEL}" in md
    assert f"- **A**: `{A_LABEL}`, 40 images" in md
    # the cross matrix and its pair lists say which axis is which collection
    assert f"### `concept_similarity`: classes of A = {A_LABEL} x classes of B = {B_LABEL}" in md
    assert "- most similar (A class / B class): cat / cat (0.900)" in md
    assert "- least similar (A class / B class): cat / dog (0.100)" in md
    # a matrix within one collection says so
    assert f"### `prototype_cosine`: classes of A = {A_LABEL} x classes of A\n" in md
    assert "- most similar (A class / A class): cat / dog (0.400)" in md


def test_one_collection_says_a_only() -> None:
    r = _report()
    r.inputs.pop("b")
    r.scores = {}
    r.matrices.pop("concept_similarity")
    md = render_markdown(r, {})
    assert f"**A** = `{A_LABEL}` (one collection" in md
    assert "B =" not in md and "**B**" not in md


def test_no_filter_no_parentheses() -> None:
    r = _report()
    r.inputs["a"] = {"name": "folder:imgs", "n_images": 3, "source": {"classes": None}}
    md = render_markdown(r, {})
    assert f"## Scores: A = folder:imgs vs B = {B_LABEL}" in md


def test_noise_floor_cells_and_notes_explain_na_and_negative() -> None:
    md = render_markdown(_report(), {})
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", md, re.M)}
    # negative kid floor: marked in the cell, explained below the table
    assert "-4.0e-04 (negative: noise, see note)" in rows["kid"]
    note = re.search(r"^- `kid`: (.*)$", md, re.M)
    assert note is not None and "negative floor" in note.group(1)
    assert "unbiased" in note.group(1) and "expected value is 0" in note.group(1)
    # a score the registry gives no floor
    assert "n/a (none for this score)" in rows["precision"]
    assert re.search(r"^- `precision`: n/a: the score registry gives this score no noise", md, re.M)
    # a floor that failed: the reason from the analysis is shown
    assert "n/a (could not be computed)" in rows["fd_effnet_lite0"]
    assert "half of the smaller collection is under 2 images" in md
    # a plain floor has no note
    assert "| 0.100 |" in rows["cmmd"] and "- `cmmd`" not in md
    assert md.count(FLOOR_DEFINITION) == 1


def test_floors_turned_off_say_so() -> None:
    md = render_markdown(_report(meta={"noise_floor": False}), {})
    assert "n/a (turned off)" in md
    assert "`noise_floor=false`" in md


def test_console_and_html_use_the_same_wording() -> None:
    console = Console(record=True, width=250)
    print_summary(_report(), console)
    text = console.export_text()
    assert f"A = {A_LABEL} vs B = {B_LABEL}" in text
    assert "n/a (none for this score)" in text
    assert "(A class / B class)" in text
    page = render_html(_report())
    assert "Scores: A = cifake/train (kinds=[REAL]) vs B = cifake/train" in page
    assert "n/a (none for this score)" in page
    assert "random halves" not in page
    assert "Rows: classes of A = cifake/train (kinds=[REAL]); columns: classes of B =" in page


def test_noise_floor_definition_matches_the_code() -> None:
    """The sentence says: mean over 3 random splits of the pooled A + B rows into parts of the
    original sizes. Check each claim against :func:`semsim.metrics.noise_floor`."""
    assert "3 random splits of the pooled A + B images" in FLOOR_DEFINITION
    a, b = np.zeros((30, 2)), np.ones((10, 2))
    calls: list[tuple[int, int, float]] = []

    def share_from_b(x: np.ndarray, y: np.ndarray) -> float:
        calls.append((len(x), len(y), float(x[:, 0].mean())))
        return float(x[:, 0].mean())

    value = noise_floor(share_from_b, a, b, seed=1)
    assert [(n1, n2) for n1, n2, _ in calls] == [(30, 10)] * 3  # original sizes, 3 splits
    assert all(0 < s < 1 for *_, s in calls)  # part 1 mixes A and B rows: the pool is split
    assert value == np.mean([s for *_, s in calls])  # the mean of the splits


def test_method_docs_and_readme_state_the_same_floor() -> None:
    method = method_section({"name": "tf_efficientnet_lite0"}, ["kid"], 10, True)["summary"]
    assert FLOOR_DEFINITION in method
    docs = _flat((ROOT / "docs" / "report.md").read_text(encoding="utf-8"))
    assert _flat(FLOOR_DEFINITION) in docs
    for path in ("README.md", "docs/report.md", "semsim/report/writer.py"):
        assert "random halves of A" not in (ROOT / path).read_text(encoding="utf-8"), path


def test_train_callback_and_compare_name_the_frechet_score_alike() -> None:
    """One encoder, one score name: the similarity callback (its default ``encoder_key`` is the
    backbone's model name) and compare (the encoder spec's provenance)."""
    from semsim.callbacks.similarity import SimilarityMatrixCallback
    from semsim.encoders import EncoderSpec
    from semsim.models.provenance import encoder_info

    compare_side = EncoderSpec("tf_efficientnet_lite0").provenance()
    net = SimpleNamespace(describe=lambda: {"backbone": "tf_efficientnet_lite0", "dim": 1280})
    callback = SimilarityMatrixCallback(encoder_key="tf_efficientnet_lite0", scores=["fd"])
    callback_side = callback.encoder_info(SimpleNamespace(net=net), "pretrained")
    frozen = SimpleNamespace(
        backbone_info={"name": "tf_efficientnet_lite0", "weights": "pretrained", "frozen": True}
    )
    realfake_side, _ = encoder_info(frozen, None, "test")
    names = {report_name("fd", e) for e in (compare_side, callback_side, realfake_side)}
    assert names == {"fd_effnet_lite0"}


def test_similarity_callback_names_finetuned_features_like_the_realfake_callback() -> None:
    """After fitting a trainable backbone the features are a fine-tuned encoder's: the similarity
    callback and the real/fake callback give them one name; before fitting, the registry's."""
    from semsim.callbacks.similarity import SimilarityMatrixCallback
    from semsim.models.provenance import encoder_info

    net = SimpleNamespace(describe=lambda: {"backbone": "tf_efficientnet_lite0", "dim": 1280})
    for weights, suffix in (("pretrained", "_finetuned"), ("random-init", "_trained")):
        module = SimpleNamespace(
            net=net,
            backbone_info={"name": "tf_efficientnet_lite0", "weights": weights, "frozen": False},
        )
        callback = SimilarityMatrixCallback(encoder_key="tf_efficientnet_lite0", scores=["fd"])
        realfake, _ = encoder_info(module, None, "test")
        for stage in ("fit", "test"):
            name = report_name("fd", callback.encoder_info(module, stage))
            assert name == report_name("fd", realfake) == f"fd_effnet_lite0{suffix}"
        before = report_name("fd", callback.encoder_info(module, "pretrained"))
        assert before == (
            "fd_effnet_lite0" if weights == "pretrained" else "fd_effnet_lite0_random"
        )
