"""The real/fake LightningModule, its similarity callback and the pair-score maths.

Fast tests use a tiny random ``test_resnet`` at 32 px on in-memory images; references come from
numpy/scipy (accuracy, Mann-Whitney AUC, binned calibration error, brute-force pair means).
``slow`` tests run ``experiment=cifake`` end to end on a tiny CIFAKE-layout fixture.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from scipy.stats import rankdata

from semsim.callbacks.realfake import RealFakeSimilarityCallback, encoder_info
from semsim.data import ArrayCollection, ImageDataModule
from semsim.metrics.pair_score import (
    PAIR_TYPES,
    mean_abs_diff,
    mean_abs_diff_within,
    pair_score,
    pair_score_distribution,
)
from semsim.models import RealFakeModule, RealFakeNet

KINDS = ["REAL", "FAKE"]


# --- independent references -----------------------------------------------------------------
def numpy_ece(p: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    """Binary ECE over equal-width bins of p: sum_b n_b/n |mean p_b - mean y_b| (float64)."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    idx = np.minimum((p * n_bins).astype(int), n_bins)  # p == 1 gets a bin of its own
    total = 0.0
    for b in np.unique(idx):
        m = idx == b
        total += m.sum() / p.size * abs(p[m].mean() - y[m].mean())
    return float(total)


def numpy_auc(p: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half)."""
    r = rankdata(p)
    n1 = int(y.sum())
    n0 = y.size - n1
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_numpy_ece_reference_is_sane():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, 200_000)
    y = (rng.uniform(size=p.size) < p).astype(int)  # calibrated by construction
    assert numpy_ece(p, y, 15) < 0.01
    assert numpy_ece(np.full(50, 0.9), np.zeros(50), 15) == pytest.approx(0.9)


# --- fixtures --------------------------------------------------------------------------------
def _images(n_per_kind: int, seed: int = 0) -> ArrayCollection:
    """REAL images are dark, FAKE ones bright (learnable), with CIFAR-10 classes attached."""
    rng = np.random.default_rng(seed)
    imgs, kinds = [], []
    for k in (0, 1):
        base = rng.integers(0, 150, (n_per_kind, 32, 32, 3)) + 100 * k
        imgs.append(base.clip(0, 255).astype(np.uint8))
        kinds += [k] * n_per_kind
    kind = np.array(kinds, dtype=np.int64)
    cls = np.arange(kind.size, dtype=np.int64) % 10
    attrs = {"realfake": (kind, KINDS), "class": (cls, [f"c{i}" for i in range(10)])}
    return ArrayCollection(np.concatenate(imgs), kind, KINDS, name="toy", attributes=attrs)


def _datamodule(n_per_kind: int = 32, batch_size: int = 16) -> ImageDataModule:
    coll = _images(n_per_kind)
    dm = ImageDataModule(
        lambda split: coll,
        train_split="train",
        eval_split="train",
        val_fraction=0.25,
        test_fraction=0.25,
        batch_size=batch_size,
        num_workers=0,
        augment="none",
    )
    dm.setup()
    return dm


def _module(freeze: bool = True, lr_factor: float = 1.0, positive="FAKE") -> RealFakeModule:
    torch.manual_seed(0)
    net = RealFakeNet("test_resnet", num_classes=2, image_size=32, hidden=[16])
    return RealFakeModule(
        net,
        optimizer=partial(torch.optim.AdamW, lr=1e-2),
        freeze_backbone=freeze,
        backbone_lr_factor=lr_factor,
        positive_class=positive,
    )


def _trainer(tmp_path: Path, callbacks=(), **kw) -> L.Trainer:
    opts = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    opts.update(kw)
    return L.Trainer(callbacks=list(callbacks), **opts)


class _ModeRecorder(L.Callback):
    def __init__(self) -> None:
        self.backbone, self.head = [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.backbone.append(any(m.training for m in pl_module.net.backbone.modules()))
        self.head.append(pl_module.net.head.training)


def _probs(module: RealFakeModule, dataset) -> tuple[np.ndarray, np.ndarray]:
    loader = torch.utils.data.DataLoader(dataset, batch_size=64)
    module.eval()
    ps, ys = [], []
    with torch.no_grad():
        for x, y in loader:
            ps.append(module.predict_proba(x))
            ys.append(y)
    return torch.cat(ps).double().numpy(), torch.cat(ys).numpy()


# --- module ----------------------------------------------------------------------------------
def test_frozen_backbone_stays_eval_and_metrics_match_numpy(tmp_path: Path):
    dm = _datamodule()
    module = _module(freeze=True)
    before = {k: v.clone() for k, v in module.net.backbone.state_dict().items()}
    head_before = [p.clone() for p in module.net.head.parameters()]
    rec = _ModeRecorder()
    trainer = _trainer(tmp_path, [rec])
    trainer.fit(module, datamodule=dm)

    assert rec.backbone and not any(rec.backbone), "a frozen backbone went into train mode"
    assert all(rec.head), "the head should train"
    after = module.net.backbone.state_dict()
    for k, v in before.items():  # weights and BatchNorm running statistics untouched
        assert torch.equal(v, after[k]), k
    assert any(
        not torch.equal(a, b)
        for a, b in zip(head_before, module.net.head.parameters(), strict=True)
    )
    assert not any(p.requires_grad for p in module.net.backbone.parameters())

    logged = set(trainer.callback_metrics)
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "val/auc", "val/ece"} <= logged
    assert "val/acc_best" in logged
    val = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert val["val/acc_best"] >= val["val/acc"] - 1e-9

    trainer.test(module, datamodule=dm)
    m = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert {"test/acc", "test/auc", "test/ece", "test/loss"} <= set(m)
    p, y = _probs(module, dm.test_set)
    assert p.min() < p.max(), "degenerate probabilities make the check vacuous"
    assert m["test/acc"] == pytest.approx(((p > 0.5) == (y == 1)).mean(), abs=1e-6)
    assert m["test/auc"] == pytest.approx(numpy_auc(p, y), abs=1e-5)
    assert m["test/ece"] == pytest.approx(numpy_ece(p, y, 15), abs=1e-5)


def test_positive_class_fake_first_flips_p(tmp_path: Path):
    # the class order decides which softmax output is p
    dm = _datamodule()
    dm.class_names = ["FAKE", "REAL"]
    module = _module()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, datamodule=dm)
    assert module.positive_index == 0 and module.positive_class == "FAKE"
    x = torch.rand(3, 3, 32, 32)
    module.eval()
    logits = module(x)
    assert torch.allclose(module.predict_proba(x), logits.softmax(1)[:, 0])


def test_bad_positive_class_and_class_count_are_clear_errors(tmp_path: Path):
    dm = _datamodule()
    with pytest.raises(ValueError, match="positive_class='fake'"):
        _trainer(tmp_path, max_epochs=1).fit(_module(positive="fake"), datamodule=dm)
    net = RealFakeNet("test_resnet", num_classes=3, image_size=32, hidden=[])
    with pytest.raises(ValueError, match="2 outputs"):
        RealFakeModule(net, optimizer=partial(torch.optim.AdamW, lr=1e-3))


def test_unfrozen_backbone_fine_tunes_at_scaled_lr(tmp_path: Path):
    dm = _datamodule()
    module = _module(freeze=False, lr_factor=0.1)
    before = {k: v.clone() for k, v in module.net.backbone.named_parameters()}
    rec = _ModeRecorder()
    trainer = _trainer(tmp_path, [rec], max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(module, datamodule=dm)
    assert all(rec.backbone)
    lrs = sorted(g["lr"] for g in trainer.optimizers[0].param_groups)
    assert lrs == pytest.approx([1e-3, 1e-2])
    changed = [
        k for k, v in module.net.backbone.named_parameters() if not torch.equal(v, before[k])
    ]
    assert changed


def test_checkpoint_is_weights_only_and_records_training_images(tmp_path: Path):
    from semsim.models.provenance import item_ids

    dm = _datamodule()
    module = _module()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(module, datamodule=dm)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    info = ckpt["semsim"]
    assert info["module"] == "realfake" and info["positive_class"] == "FAKE"
    assert info["net"]["backbone"] == "test_resnet" and info["net"]["hidden"] == [16]
    seen = set(info["data"]["seen_ids"].tolist())
    assert len(seen) == len(dm.train_set) + len(dm.val_set)
    assert seen == set(item_ids(dm.train_set)) | set(item_ids(dm.val_set))
    assert not seen & set(item_ids(dm.test_set))


# --- pair score maths ------------------------------------------------------------------------
def test_pair_score_function():
    assert pair_score(0.2, 0.9) == pytest.approx(0.3)
    assert pair_score(0.4, 0.4) == 1.0
    np.testing.assert_allclose(pair_score(np.array([0.0, 1.0]), np.array([1.0, 1.0])), [0.0, 1.0])


def test_exact_pair_means_match_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(size=301), rng.beta(0.5, 0.5, size=157)
    a[:5] = b[:5]  # ties
    brute = np.abs(a[:, None] - b[None, :]).mean()
    assert mean_abs_diff(a, b) == pytest.approx(brute, rel=1e-12)
    iu = np.triu_indices(a.size, k=1)
    within = np.abs(a[:, None] - a[None, :])[iu].mean()
    assert mean_abs_diff_within(a) == pytest.approx(within, rel=1e-12)


def test_pair_score_distribution_all_and_sampled_pairs():
    rng = np.random.default_rng(2)
    p_real, p_fake = rng.uniform(0, 0.3, 40), rng.uniform(0.6, 1.0, 30)
    summary, samples = pair_score_distribution(p_real, p_fake, n_pairs=10_000, seed=0)
    assert set(summary) == set(PAIR_TYPES)
    rf = 1 - np.abs(p_real[:, None] - p_fake[None, :]).ravel()
    assert summary["real_fake"]["all_pairs"] and summary["real_fake"]["n"] == rf.size
    assert summary["real_fake"]["median"] == pytest.approx(np.median(rf))
    assert summary["real_fake"]["q95"] == pytest.approx(np.quantile(rf, 0.95))
    rr = 1 - np.abs(p_real[:, None] - p_real[None, :])[np.triu_indices(40, 1)]
    assert summary["real_real"]["n"] == 780
    assert summary["real_real"]["std"] == pytest.approx(rr.std())
    assert summary["real_fake"]["mean"] < summary["real_real"]["mean"]

    small, samples = pair_score_distribution(p_real, p_fake, n_pairs=400, seed=0)
    for kind in PAIR_TYPES:
        assert small[kind]["n"] == 400 and not small[kind]["all_pairs"]
    assert samples["real_real"].max() < 1.0  # distinct values: i == j never drawn
    assert small["real_real"]["mean"] == pytest.approx(rr.mean())  # the mean stays exact


# --- callback --------------------------------------------------------------------------------
def _fake_module(name: str, weights: str, frozen: bool) -> SimpleNamespace:
    return SimpleNamespace(
        backbone_info={"name": name, "weights": weights, "frozen": frozen}, positive_index=1
    )


@pytest.mark.parametrize(
    ("name", "weights", "frozen", "score"),
    [
        ("inception_fid", "pretrained", True, "fid"),
        ("inception_fid", "random-init", True, "fd_inception_fid_random"),
        ("inception_fid", "pretrained", False, "fd_inception_fid_finetuned"),
        ("tf_efficientnet_lite0", "pretrained", True, "fd_effnet_lite0"),
        ("tf_efficientnet_lite0", "pretrained", False, "fd_effnet_lite0_finetuned"),
        ("resnet10t", "random-init", False, "fd_resnet10t_trained"),
    ],
)
def test_fd_is_called_fid_only_for_the_frozen_official_inception(name, weights, frozen, score):
    from semsim.analysis import fd_score_name

    enc, official = encoder_info(_fake_module(name, weights, frozen), None, "test")
    assert fd_score_name(enc) == score
    assert official == (score == "fid")


def test_callback_report_on_synthetic_features(tmp_path: Path):
    from semsim.data import Subset

    rng = np.random.default_rng(3)
    coll = _images(60)
    subset = Subset(coll, np.arange(len(coll)))
    is_fake = subset.labels == 1
    feats = rng.normal(size=(len(coll), 6)) + 1.5 * is_fake[:, None]
    p = np.where(is_fake, rng.uniform(0.5, 1, len(coll)), rng.uniform(0, 0.5, len(coll)))
    cb = RealFakeSimilarityCallback(
        scores=["fd", "c2st", "indistinguishability"],
        matrix_scores=["prototype_cosine"],
        n_bootstrap=10,
        out_dir=str(tmp_path),
    )
    module = _fake_module("tf_efficientnet_lite0", "pretrained", True)
    enc, _ = encoder_info(module, None, "test")
    result = cb.analyse(subset, feats, p, module, enc, "test", "toy")
    files = cb.write(result, tmp_path / "test")

    data = json.loads((tmp_path / "test" / "report.json").read_text())
    from semsim.report import validate_report_dict

    validate_report_dict(data)
    # round 2: indistinguishability is a registry score of its own (it was an extra of c2st)
    assert set(data["scores"]) == {
        "fd_effnet_lite0", "c2st", "indistinguishability", "pair_similarity"
    }  # fmt: skip
    assert data["scores"]["fd_effnet_lite0"]["noise_floor"] is not None
    assert data["scores"]["c2st"]["value"] > 0.8  # a 1.5-sigma shift in every dimension
    assert 0 <= data["scores"]["indistinguishability"]["value"] <= 0.4
    # round 2: the headline is the content score (concept_similarity, on concept logits); it was
    # not asked for here and these synthetic features carry no concepts, so there is none
    assert data["similarity"] is None
    brute = 1 - np.abs(p[~is_fake][:, None] - p[is_fake][None, :]).mean()
    assert data["scores"]["pair_similarity"]["value"] == pytest.approx(brute)
    lo, hi = data["scores"]["pair_similarity"]["ci"]
    assert lo <= brute <= hi
    assert set(PAIR_TYPES) <= set(data["sections"]["pair_score"])
    for kind in PAIR_TYPES:
        assert {"mean", "std", "median", "q05", "q95", "n"} <= set(
            data["sections"]["pair_score"][kind]
        )
    m = data["matrices"]["pair_similarity"]
    assert m["row_labels"] == [f"c{i}" for i in range(10)] and m["col_labels"] == m["row_labels"]
    cls = coll.attributes["class"][0]
    r, c = (~is_fake) & (cls == 2), is_fake & (cls == 7)
    assert m["values"][2][7] == pytest.approx(1 - np.abs(p[r][:, None] - p[c][None, :]).mean())
    assert data["matrices"]["prototype_cosine"]["row_title"] == "REAL"
    for name in ("pair_score.png", "pair_score.csv", "pair_similarity.png", "report.md"):
        assert files[name].is_file()
    assert (tmp_path / "test" / "pair_score.csv").read_text().count("pair_score:") == 3

    # the evidence galleries (REAL vs FAKE) and report.html come with it
    assert {"evidence", "duplicates", "pair_score"} <= set(data["sections"])
    assert files["report.html"].is_file()

    # report.json round-trips through load_report with nothing dropped
    from semsim.report import load_report

    loaded = load_report(tmp_path / "test")
    assert loaded.sections["pair_score"]["real_fake"] == data["sections"]["pair_score"]["real_fake"]
    assert loaded.to_dict() == data


def test_callback_rejects_unknown_stage():
    with pytest.raises(ValueError, match="pretrained"):
        RealFakeSimilarityCallback(stages=["pretrained"])


# --- end to end (slow) -----------------------------------------------------------------------
def _cifake_overrides(root: Path) -> list[str]:
    return [
        "experiment=cifake",
        "model.net.pretrained=false",
        f"data.root={root}",
        "trainer.accelerator=cpu",
        "trainer.precision=32-true",
        "+trainer.fast_dev_run=true",
        "data.datamodule.batch_size=4",
        "data.datamodule.num_workers=0",
        "data.datamodule.pin_memory=false",
        "data.datamodule.test_fraction=0.5",
        "callbacks.realfake.num_workers=0",
        "callbacks.realfake.batch_size=16",
        "callbacks.realfake.n_bootstrap=0",
        "logger=csv",
    ]


def _check_stage(out: Path, fd_name: str) -> dict:
    from semsim.report import validate_report_dict

    data = json.loads((out / "report.json").read_text())
    validate_report_dict(data)
    assert fd_name in data["scores"] and "c2st" in data["scores"]
    assert data["scores"][fd_name]["value"] is not None
    assert data["scores"][fd_name]["noise_floor"] is not None
    assert data["scores"]["indistinguishability"]["family"] == "rendering"  # registry default
    assert set(PAIR_TYPES) <= set(data["sections"]["pair_score"])
    assert data["sections"]["pair_score"]["real_fake"]["n"] > 0
    assert (out / "pair_score.png").stat().st_size > 0
    assert data["matrices"]["pair_similarity"]["row_title"] == "REAL"
    assert (out / "prototype_cosine.csv").is_file() and (out / "prototype_cosine.png").is_file()
    return data


@pytest.mark.slow
def test_cifake_experiment_fast_dev_run_writes_reports(tmp_path: Path):
    from semsim.train import train
    from tests.conftest import compose
    from tests.helpers import write_class_folders

    root = write_class_folders(tmp_path / "cifake", ["train"], 0, 20, cifake=True)
    cfg = compose("train", _cifake_overrides(root), tmp_path / "run")
    metrics, objects = train(cfg)
    assert objects["model"].net.backbone_name == "inception_fid"
    assert {"test/acc", "test/auc", "test/ece"} <= set(metrics)
    for stage in ("fit", "test"):
        data = _check_stage(tmp_path / "run" / "similarity" / stage, "fd_inception_fid_random")
        assert data["encoder"]["frozen"] is True
        assert data["meta"]["feature_dim"] == 2048


@pytest.mark.slow
def test_cifake_with_official_weights_reports_fid(tmp_path: Path, monkeypatch):
    """With the FID weights file in place (here a stand-in with random values) the frozen
    backbone's Fréchet distance is named ``fid`` and uses the TF1 resize protocol."""
    from semsim.encoders import InceptionV3FID
    from semsim.encoders.weights import INCEPTION_FILENAME
    from semsim.train import train
    from tests.conftest import compose
    from tests.helpers import write_class_folders

    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    torch.save(InceptionV3FID(num_classes=1008).state_dict(), weights / INCEPTION_FILENAME)
    monkeypatch.setenv("SEMSIM_WEIGHTS_DIR", str(weights))
    root = write_class_folders(tmp_path / "cifake", ["train"], 0, 20, cifake=True)
    overrides = [o for o in _cifake_overrides(root) if "pretrained" not in o]
    cfg = compose("train", [*overrides, "callbacks.realfake.stages=[test]"], tmp_path / "run")
    train(cfg)
    data = _check_stage(tmp_path / "run" / "similarity" / "test", "fid")
    assert data["encoder"]["name"] == "inception_fid"
    assert "TF1" in data["encoder"]["features"]


def test_crop_pct_one_keeps_native_size_images_whole():
    from semsim.data.datamodule import eval_transform

    net = RealFakeNet("test_resnet", image_size=32, hidden=[], crop_pct=1.0)
    cfg = net.data_config
    assert cfg["crop_pct"] == 1.0 and tuple(cfg["input_size"]) == (3, 32, 32)
    assert RealFakeNet("test_resnet", image_size=32, hidden=[]).data_config["crop_pct"] < 1.0
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    from PIL import Image

    x = eval_transform(cfg)(Image.fromarray(arr)).numpy()
    mean, std = np.array(cfg["mean"])[:, None, None], np.array(cfg["std"])[:, None, None]
    expected = (arr.transpose(2, 0, 1) / 255.0 - mean) / std
    np.testing.assert_allclose(x, expected, atol=1e-5)
    with pytest.raises(ValueError, match="crop_pct"):
        RealFakeNet("test_resnet", crop_pct=0.0)


def test_callback_can_measure_with_a_separate_frozen_encoder(tmp_path: Path):
    from semsim.encoders import EncoderSpec
    from semsim.metrics import frechet_distance

    dm = _datamodule(n_per_kind=64)  # >= 11 test images a side: the content score's minimum
    module = _module()
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32, key="tiny")
    cb = RealFakeSimilarityCallback(
        stages=["test"],
        scores=["fd", "concept_similarity", "content_similarity", "appearance"],
        matrix_scores=[],
        encoder=spec,
        n_bootstrap=0,
        max_per_class=None,
        out_dir=str(tmp_path / "sim"),
    )
    _trainer(tmp_path, [cb]).test(module, datamodule=dm)
    data = json.loads((tmp_path / "sim" / "test" / "report.json").read_text())
    assert data["encoder"]["name"] == "test_efficientnet" and "fd_tiny" in data["scores"]

    encoder = spec.build()
    test = dm.test_set.with_transform(encoder.transform)
    with torch.no_grad():
        feats = np.stack([encoder(test[i][0][None])[0].numpy() for i in range(len(test))])
    assert data["meta"]["feature_dim"] == feats.shape[1] != module.net.num_features
    fake = test.labels == 1
    expected = frechet_distance(feats[~fake].astype(np.float64), feats[fake].astype(np.float64))
    assert data["scores"]["fd_tiny"]["value"] == pytest.approx(expected, rel=1e-4)
    # the frozen encoder's own head gives the concepts (the concept score)
    from semsim.metrics import concept_similarity

    with torch.no_grad():
        logits = np.stack(
            [encoder.encode(test[i][0][None])[1][0].numpy() for i in range(len(test))]
        )
    assert data["scores"]["concept_similarity"]["value"] == pytest.approx(
        concept_similarity(logits[~fake], logits[fake]), rel=1e-4
    )
    # with a frozen encoder the callback makes the content view: both headlines are reported
    assert data["similarity"] is not None, data["scores"]["content_similarity"]["skipped"]
    assert data["similarity"]["basis"] == "content_similarity"
    assert data["appearance"]["basis"] == "appearance"
    assert 0.0 <= data["similarity"]["value"] <= 1.0 and 0.0 <= data["appearance"]["value"] <= 1.0
