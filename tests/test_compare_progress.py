"""The console says which class matrix is being computed and how long is left, announces
expensive matrices, and the default compare gives headline, sub-scores and intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import semsim.analysis.matrices as matrices
import semsim.data  # noqa: F401 - stores the a/b source configs (a=synthetic)
from semsim.analysis.progress import duration

ROOT = Path(__file__).resolve().parents[1]


def _labelled(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(90, 8)), np.repeat([0, 1, 2], 30)


def test_matrix_bars_count_cells_with_time_left(capsys, monkeypatch) -> None:
    monkeypatch.setattr(matrices, "ANNOUNCE_S", 0.0)  # announce even these cheap ones
    x, lab = _labelled()
    mats, skipped = matrices.class_matrix_results(
        x, lab, ["a", "b", "c"], ["fd", "c2st", "kid"], progress=True
    )
    assert sorted(mats) == ["c2st", "fd_encoder", "kid"] and skipped == {}
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith("class matrices will take ")
    for name in ("fd", "c2st", "kid"):
        assert f"{name} " in lines[0]
    assert "matrix_scores=" in lines[0]
    for name in ("fd_encoder", "c2st", "kid"):  # one bar per matrix: cells done / all, time left
        bar = [ln for ln in lines[1:] if f"matrix: {name} " in ln]
        assert len(bar) == 1, err
        assert "9/9 cells" in bar[0] and "left" in bar[0], bar[0]


def test_cross_matrix_bars_and_no_announcement_when_cheap(capsys) -> None:
    x, lab = _labelled()
    xb, lab_b = _labelled(1)
    matrices.class_matrix_results(
        x, lab, None, ["prototype_cosine"], features_b=xb, labels_b=lab_b[:90], progress=True
    )
    err = capsys.readouterr().err
    assert "will take" not in err  # well under ANNOUNCE_S
    assert "A x B: prototype_cosine " in err and "9/9 cells" in err
    matrices.class_matrix_results(x, lab, None, ["prototype_cosine"], progress=False)
    assert capsys.readouterr().err == ""


def test_estimate_scales_one_pair_to_the_matrix(monkeypatch) -> None:
    """One collection: the two-class matrix's time x the number of class pairs; two: the 1 x 1
    matrix's time x the number of cells."""
    x, lab = _labelled()
    clock = iter([0.0, 2.0, 10.0, 13.0])
    monkeypatch.setattr(matrices.time, "perf_counter", lambda: next(clock))
    group = [matrices.metrics.get_score("prototype_cosine")]
    assert matrices.estimate_seconds(group, x, lab) == pytest.approx(2.0 * 3)  # 3 pairs
    assert matrices.estimate_seconds(group, x, lab, x, lab) == pytest.approx(3.0 * 9)  # 9 cells


def test_duration_words() -> None:
    assert duration(0.3) == "under a second"
    assert duration(42.0) == "about 42 s"
    assert duration(600.0) == "about 10 min"
    assert duration(7200.0) == "about 2.0 h"


def test_default_compare_gives_headline_subscores_and_intervals(tmp_path: Path, capsys) -> None:
    """conf/compare.yaml's defaults (every score, intervals, noise floors, the cheap matrices)
    on two small labelled collections: the headline and every sub-score with its interval."""
    from semsim.compare import compare

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "compare",
            overrides=[
                "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null",
                "num_workers=0", "a.n_per_class=12", "b=synthetic", "b.n_per_class=12",
                "b.seed=1", f"out_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}",
            ],
        )  # fmt: skip
    compare(cfg)
    d = json.loads((tmp_path / "out" / "report.json").read_text())
    head = d["similarity"]
    assert head["value"] is not None and len(head["ci"]) == 2
    assert head["ci"][0] <= head["value"] <= head["ci"][1]
    from semsim.analysis import report_name
    from semsim.metrics import SCORES

    assert list(d["scores"]) == [report_name(s, d["encoder"]) for s in SCORES]  # registry order
    for name, s in d["scores"].items():
        assert s.get("skipped") is None, (name, s)
        assert s["ci"] is not None and s["ci"][0] <= s["value"] <= s["ci"][1], name
    cheap = {"content_similarity", "appearance", "concept_similarity", "prototype_cosine"}
    assert set(d["matrices"]) == {"similarity", "fd_effnet_lite0", *cheap}
    for key in ("values_s", "intervals_s", "noise_floors_s", "scores_s", "matrices_s"):
        assert d["meta"][key] >= 0.0, key
    err = capsys.readouterr().err
    assert "A vs B scores" in err
    assert "A x B: content_simila" in err


def test_scores_without_duplicates_are_values_only(tmp_path: Path) -> None:
    """With images of A copied into B, compare scores A against the rest of B again, values only
    (report.html shows values; a second round of intervals would double a first answer)."""
    from PIL import Image, ImageDraw

    from semsim.compare import compare

    rng = np.random.default_rng(0)

    def drawing(path: Path) -> None:  # a random shape on a random background: unlike each other
        img = Image.new("RGB", (32, 32), tuple(int(v) for v in rng.integers(0, 255, 3)))
        box = sorted(rng.integers(0, 32, 2)) + sorted(rng.integers(0, 32, 2))
        shape = ImageDraw.Draw(img).ellipse if rng.random() < 0.5 else ImageDraw.Draw(img).rectangle
        shape(
            [box[0], box[2], box[1] + 1, box[3] + 1],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
        )
        img.save(path)

    for side in ("A", "B"):
        for c in range(3):
            (tmp_path / side / f"c{c}").mkdir(parents=True)
            for i in range(10):
                drawing(tmp_path / side / f"c{c}" / f"{i}.png")
    for c in range(3):
        for i in range(2):  # two exact copies of A's images in each class of B
            src = tmp_path / "A" / f"c{c}" / f"{i}.png"
            (tmp_path / "B" / f"c{c}" / f"copy{i}.png").write_bytes(src.read_bytes())
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "compare",
            overrides=[
                "encoder.image_size=64",  # the packaged ImageNet weights: distinct features
                "num_workers=0", "progress=false", "a=folder", f"a.root={tmp_path / 'A'}",
                "b=folder", f"b.root={tmp_path / 'B'}", "n_bootstrap=4",
                "scores=[prototype_cosine,fd,kid]", "class_matrices=false",
                f"out_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}",
            ],
        )  # fmt: skip
    report = compare(cfg)
    assert report is not None
    dups = report.sections["duplicates"]
    assert dups["n_exact"] == 6, dups
    assert len(dups["b_indices"]) < 36, dups  # not every B image: the rest is scored again
    clean = dups["scores_without_duplicates"]
    assert set(clean) == {"prototype_cosine", "fd_effnet_lite0", "kid"}
    for name, s in clean.items():
        assert s.get("ci") is None and s.get("noise_floor") is None, name
    assert report.scores["kid"].ci is not None  # the main scores keep their intervals
    # the values: A against B without the rows the duplicates section names, by numpy/scipy
    from rich.console import Console

    from semsim.stages.embed import embed
    from semsim.stages.resolve import resolve

    feats = embed(resolve(cfg), Console(quiet=True)).features  # from the cache
    xa = feats["a"].features.astype(np.float64)
    xb = np.delete(feats["b"].features, dups["b_indices"], axis=0).astype(np.float64)
    assert len(xb) == 30
    pa, pb = xa.mean(0), xb.mean(0)
    cos = pa @ pb / np.linalg.norm(pa) / np.linalg.norm(pb)
    assert clean["prototype_cosine"]["value"] == pytest.approx(cos, rel=1e-9)
    s1, s2 = np.cov(xa, rowvar=False), np.cov(xb, rowvar=False)
    d = pa - pb
    fd = d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
    assert clean["fd_effnet_lite0"]["value"] == pytest.approx(fd, rel=1e-5)
    k = lambda x, y: (x @ y.T / xa.shape[1] + 1.0) ** 3  # noqa: E731 - KID's cubic kernel
    kaa, kbb = k(xa, xa), k(xb, xb)
    kid = (
        (kaa.sum() - np.trace(kaa)) / (30 * 29)
        + (kbb.sum() - np.trace(kbb)) / (30 * 29)
        - 2 * k(xa, xb).mean()
    )  # all 30 rows of each: KID's subsets are capped at the smaller set, so they are all rows
    assert clean["kid"]["value"] == pytest.approx(kid, rel=1e-6, abs=1e-9)


def test_headline_is_printed_first_with_its_interval(capsys) -> None:
    """The headline's engine runs first and its value and interval reach the console before the
    other scores are computed (and equal what the returned results say)."""
    from types import SimpleNamespace

    from semsim.analysis.scores import compare_scores

    rng = np.random.default_rng(0)

    def side(shift: float) -> SimpleNamespace:
        logits = rng.normal(size=(60, 1000)) + shift * np.arange(1000) / 1000
        x = rng.normal(size=(60, 8)) + shift
        return SimpleNamespace(features=x, concepts=logits, content=x, labels=None,
                               class_names=None)  # fmt: skip

    out = compare_scores(
        side(0.0), side(0.3), ["fd", "content_similarity", "prototype_cosine"],
        n_bootstrap=5, progress=True,
    )  # fmt: skip
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("headline ")]
    assert len(lines) == 1, lines
    head = out["content_similarity"]
    assert lines[0].startswith(f"headline content_similarity = {head.value:.3g} [")
    assert f"{head.ci[0]:.3g}, {head.ci[1]:.3g}]" in lines[0]
    assert list(out) == ["fd_encoder", "content_similarity", "prototype_cosine"]  # caller's order
