"""`semsim.compare` end to end on synthetic collections, with the real composed config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from semsim.compare import compare, main
from semsim.encoders import EncoderSpec
from semsim.features import extract_features
from semsim.metrics import SCORES
from semsim.report import validate_report_dict

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
SHAPES4 = ["circle", "square", "triangle", "cross"]
# every registry score under its report name with the default encoder (read, never listed by hand)
ALL_SCORES = [d.report_name("effnet_lite0") for d in SCORES.values()]

# a small, fast, offline encoder: the default architecture with random (seeded) weights
FAST = [
    "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null", "progress=false",
    "num_workers=0", "matrix_scores=null",  # every score's matrix (the default is the cheap ones)
]  # fmt: skip


def _cfg(tmp_path: Path, *overrides: str):
    """The real compare config; A defaults to 4 synthetic shapes x 12 images."""
    small_a = [] if any(o.startswith("a=") for o in overrides) else ["a.n_per_class=12"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            "compare",
            overrides=[
                *FAST,
                f"out_dir={tmp_path / 'out'}",
                f"cache_dir={tmp_path / 'cache'}",
                *small_a,
                *overrides,
            ],
        )


def _features(cfg, which: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Features as compare saw them (from its cache), for independent reference computations."""
    from hydra.utils import instantiate

    coll = instantiate(cfg[which], _convert_="all")
    spec = instantiate(cfg.encoder)
    assert isinstance(spec, EncoderSpec)
    f = extract_features(coll, spec, num_workers=0, cache_dir=cfg.cache_dir, progress=False)
    assert f.from_cache  # compare wrote them; we read the very same numbers back
    return f.features.astype(np.float64), f.labels


def _cosine_of_means(xa: np.ndarray, la: np.ndarray, xb: np.ndarray, lb: np.ndarray) -> np.ndarray:
    ma = np.stack([xa[la == c].mean(0) for c in np.unique(la)])
    mb = np.stack([xb[lb == c].mean(0) for c in np.unique(lb)])
    ma /= np.linalg.norm(ma, axis=1, keepdims=True)
    mb /= np.linalg.norm(mb, axis=1, keepdims=True)
    return ma @ mb.T


def _load(tmp_path: Path) -> dict:
    d = json.loads((tmp_path / "out" / "report.json").read_text())
    validate_report_dict(d)
    return d


def test_class_matrices_of_one_collection(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "n_bootstrap=0")
    report = compare(cfg)
    d = _load(tmp_path)
    out = tmp_path / "out"

    assert d["similarity"] is None and d["scores"] == {}
    # `similarity` is the headline score's (content_similarity's) matrix again under that name
    assert set(d["matrices"]) == {"similarity", *ALL_SCORES}
    for name, m in d["matrices"].items():
        assert m["labels"] == SHAPES4, name
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.png").is_file()
        with Image.open(out / f"{name}.png") as im:
            assert im.format == "PNG"
    md = (out / "report.md").read_text()
    assert "![prototype_cosine](prototype_cosine.png)" in md

    xa, la = _features(cfg, "a")
    ref = _cosine_of_means(xa, la, xa, la)
    np.testing.assert_allclose(d["matrices"]["prototype_cosine"]["values"], ref, atol=1e-9)
    # identity diagonals: a class against itself
    np.testing.assert_allclose(np.diag(report.matrices["fd_effnet_lite0"].values), 0.0)
    np.testing.assert_allclose(np.diag(report.matrices["indistinguishability"].values), 1.0)
    sim = report.matrices["indistinguishability"].values
    assert np.all((sim >= 0) & (sim <= 1))
    np.testing.assert_allclose(sim, 1 - np.abs(2 * report.matrices["c2st"].values - 1))
    assert "`content_similarity` matrix below" in md  # the headline score, per class pair


def test_a_vs_itself_gives_identity_values(tmp_path: Path) -> None:
    # every score A vs B; matrices of one cheap score (the class matrices have their own test)
    cfg = _cfg(
        tmp_path, "b=synthetic", "b.n_per_class=12", "n_bootstrap=4",
        "matrix_scores=[prototype_cosine]",
    )  # fmt: skip
    compare(cfg)
    d = _load(tmp_path)
    s = d["scores"]
    assert list(s) == ALL_SCORES
    xa, _ = _features(cfg, "a")
    scale = float(np.trace(np.cov(xa, rowvar=False)))
    assert s["prototype_cosine"]["value"] == pytest.approx(1.0, abs=1e-9)
    assert abs(s["fd_effnet_lite0"]["value"]) < 1e-6 * scale
    assert s["cmmd"]["value"] == pytest.approx(0.0, abs=1e-9)
    for name in ("precision", "recall", "coverage"):
        assert s[name]["value"] == pytest.approx(1.0), name
    assert s["c2st"]["value"] <= 0.55  # a classifier cannot separate a set from itself
    # B is a copy of A: every B image has its twin, with the other label, in the training folds,
    # so the C2ST scores below chance. Round 1 clipped that to similarity 1.0; issue #13 asks for
    # the interval the data give, and the reading now says the test is void (duplicates).
    ind = s["indistinguishability"]
    lo, hi = ind["ci"]
    assert 0 <= lo <= ind["value"] <= hi <= 1
    if s["c2st"]["ci"][1] < 0.5:  # significantly below chance
        assert ind["reading"].startswith("inconclusive")
        assert "near-duplicate images are in both A and B" in ind["reading"]
    else:
        assert ind["value"] >= 0.9
    assert d["similarity"]["value"] == 1.0  # the same images: the same concepts
    for name in ("fd_effnet_lite0", "kid", "cmmd", "c2st"):
        assert s[name]["noise_floor"] is not None, name
    for name in ALL_SCORES:
        ci = s[name]["ci"]
        assert ci is not None and ci[0] <= s[name]["value"] + 1e-12 <= ci[1] + 2e-12, name
    # both collections labelled: A-classes x B-classes matrices
    m = d["matrices"]["prototype_cosine"]
    assert m["row_labels"] == SHAPES4 and m["col_labels"] == SHAPES4 and "labels" not in m
    np.testing.assert_allclose(np.diag(m["values"]), 1.0, atol=1e-9)


def test_different_collections_score_as_less_similar(tmp_path: Path) -> None:
    common = [
        "n_bootstrap=0", "noise_floor=false", "class_matrices=false", "a.n_per_class=24",
        "scores=[fd,c2st,indistinguishability]",
    ]  # fmt: skip
    same = _cfg(tmp_path / "same", *common, "b=synthetic", "b.n_per_class=24", "b.seed=1")
    diff = _cfg(
        tmp_path / "diff", *common, "a.classes=[circle,square]", "a.n_classes=4",
        "b=synthetic", "b.n_per_class=24", "b.seed=1", "b.classes=[triangle,cross]",
    )  # fmt: skip
    r_same, r_diff = compare(same), compare(diff)
    assert r_diff.scores["fd_effnet_lite0"].value > r_same.scores["fd_effnet_lite0"].value
    assert r_diff.scores["c2st"].value > r_same.scores["c2st"].value
    ind = "indistinguishability"
    assert r_diff.scores[ind].value < r_same.scores[ind].value
    assert r_diff.similarity is None  # concept_similarity was not asked for: no headline
    assert r_diff.matrices == {}  # class_matrices=false


def test_cross_matrix_matches_reference(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path, "b=synthetic", "b.seed=3", "b.classes=[circle,cross]", "b.n_per_class=12",
        "n_bootstrap=0", "noise_floor=false", "scores=[prototype_cosine]",
    )  # fmt: skip
    report = compare(cfg)
    m = report.matrices["prototype_cosine"]
    assert m.row_labels == SHAPES4 and m.col_labels == ["circle", "cross"]
    xa, la = _features(cfg, "a")
    xb, lb = _features(cfg, "b")
    np.testing.assert_allclose(m.values, _cosine_of_means(xa, la, xb, lb), atol=1e-9)
    assert set(report.matrices) == {"prototype_cosine"}
    assert set(report.scores) == {"prototype_cosine"}
    assert report.similarity is None  # no headline score asked for, so no headline


def test_too_small_scores_are_skipped_and_the_rest_goes_on(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path, "a.n_per_class=2", "a.n_classes=2", "b=synthetic", "b.n_per_class=2",
        "b.n_classes=2", "b.seed=1", "n_bootstrap=2",
    )  # fmt: skip
    compare(cfg)
    d = _load(tmp_path)
    s = d["scores"]
    for name in ("precision", "recall", "density", "coverage", "c2st", "indistinguishability"):
        assert s[name]["value"] is None and "needs at least" in s[name]["skipped"], name
    assert s["prototype_cosine"]["value"] is not None
    assert s["fd_effnet_lite0"]["value"] is not None
    assert d["similarity"] is None  # no c2st, no headline
    assert "precision" in d["meta"]["matrices_skipped"]  # 2 images a class
    assert "prototype_cosine" in d["matrices"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "skipped: needs at least" in md


def _flat_folder(root: Path, n: int = 8) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def test_unlabelled_collections(tmp_path: Path) -> None:
    flat = _flat_folder(tmp_path / "flat")
    with pytest.raises(ValueError, match="unlabelled and no B"):
        compare(_cfg(tmp_path, "a=folder", f"a.root={flat}"))
    with pytest.raises(ValueError, match="class_matrices=true, but collection B is unlabelled"):
        compare(_cfg(tmp_path, "b=folder", f"b.root={flat}", "class_matrices=true"))
    # auto: scores only
    report = compare(
        _cfg(tmp_path, "b=folder", f"b.root={flat}", "n_bootstrap=0", "scores=[prototype_cosine]")
    )
    assert report.matrices == {} and report.scores["prototype_cosine"].value is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["a=folder", "a.root=/no/such/folder"], "/no/such/folder"),
        (["scores=[prototype_cosine,bogus]"], "unknown score 'bogus'"),
        (["n_bootstrap=1"], "n_bootstrap"),
        (["class_matrices=maybe"], "class_matrices"),
        (["a.max_per_class=0"], "max_per_class"),
    ],
)
def test_bad_options_raise_clear_errors(tmp_path: Path, overrides: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare(_cfg(tmp_path, *overrides))
    assert not (tmp_path / "out" / "report.json").exists()


def test_cli_prints_one_line_error_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    GlobalHydra.instance().clear()
    argv = [
        "semsim.compare",
        "a=folder",
        f"a.root={tmp_path / 'missing'}",
        f"out_dir={tmp_path / 'out'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "hydra/job_logging=disabled",
        "hydra/hydra_logging=disabled",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(tmp_path / "missing") in err[0]
    assert "Traceback" not in err[0]


def test_default_matrices_are_the_cheap_ones(tmp_path: Path) -> None:
    """Without `matrix_scores`, a labelled compare builds the matrices of the cheap scores only
    (the per-pair classifier tests would dominate a first answer)."""
    from omegaconf import OmegaConf

    default = list(OmegaConf.load(CONF_DIR / "compare.yaml").matrix_scores)
    cheap = ["content_similarity", "appearance", "concept_similarity", "prototype_cosine", "fd"]
    assert default == cheap
    compare(
        _cfg(tmp_path, "n_bootstrap=0", "noise_floor=false", f"matrix_scores=[{','.join(default)}]")
    )
    d = _load(tmp_path)
    assert set(d["matrices"]) == {"similarity", *cheap[:-1], "fd_effnet_lite0"}
