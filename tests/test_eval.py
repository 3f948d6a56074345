"""``semsim.eval``: test a trained checkpoint on a split it has not seen (nothing is trained)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.eval import evaluate
from semsim.train import train
from tests.conftest import compose
from tests.helpers import write_class_folders

TINY_REALFAKE = [
    "experiment=cifake",
    "model.net.backbone=test_resnet",
    "model.net.image_size=32",
    "model.net.pretrained=false",
    "model.net.hidden=[8]",
    "trainer.accelerator=cpu",
    "trainer.precision=32-true",
    "data.datamodule.batch_size=8",
    "data.datamodule.num_workers=0",
    "data.datamodule.pin_memory=false",
    "data.datamodule.val_fraction=0.25",
    "data.datamodule.test_fraction=0.25",
    "callbacks.realfake.stages=[test]",
    "callbacks.realfake.matrix_scores=[prototype_cosine]",
    "callbacks.realfake.scores=[fd,c2st]",
    "callbacks.realfake.n_bootstrap=0",
    "callbacks.realfake.num_workers=0",
    "logger=csv",
]


def test_ckpt_path_is_required(tmp_path: Path):
    cfg = compose("eval", ["experiment=smoke"], tmp_path)
    with pytest.raises(ValueError, match="ckpt_path=PATH is required"):
        evaluate(cfg)
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={tmp_path / 'no.ckpt'}"], tmp_path)
    with pytest.raises(ValueError, match="no such file"):
        evaluate(cfg)


def test_eval_of_a_classifier_checkpoint_matches_a_plain_forward(tmp_path: Path):
    run = tmp_path / "train"
    train(compose("train", ["experiment=smoke", "trainer.max_epochs=1", "test=false"], run))
    ckpt = run / "checkpoints" / "last.ckpt"
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={ckpt}"], tmp_path / "eval")
    assert cfg.train is False
    metrics, objects = evaluate(cfg)

    model, dm = objects["model"], objects["datamodule"]
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    for k, v in model.state_dict().items():
        assert torch.equal(v.cpu(), state[k]), f"{k} was not loaded from the checkpoint"
    model.eval()
    loader = torch.utils.data.DataLoader(dm.test_set, batch_size=64)
    with torch.no_grad():
        pred = np.concatenate([model(x).argmax(1).numpy() for x, _ in loader])
    assert metrics["test/acc"] == pytest.approx((pred == dm.test_set.labels).mean(), abs=1e-6)
    summary = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert summary["checkpoint"] == str(ckpt) and summary["unseen_checked"] == 0
    assert summary["metrics"]["test/acc"] == pytest.approx(metrics["test/acc"])


def test_realfake_eval_uses_the_whole_unseen_split_and_refuses_seen_images(tmp_path: Path):
    root = write_class_folders(tmp_path / "cifake", ["train", "test"], 0, 20, cifake=True)
    run = tmp_path / "train"
    overrides = [*TINY_REALFAKE, f"data.root={root}"]
    train(
        compose(
            "train",
            [*overrides, "trainer.max_epochs=1", "test=false", "data.max_per_class=16"],
            run,
        )
    )
    ckpt = run / "checkpoints" / "last.ckpt"

    # the real test split, whole: max_per_class of the training run is dropped
    out = tmp_path / "eval_test"
    cfg = compose(
        "eval",
        [*overrides, f"ckpt_path={ckpt}", "data.split=test", "data.max_per_class=16"],
        out,
    )
    metrics, objects = evaluate(cfg)
    assert len(objects["datamodule"].test_set) == 40
    assert {"test/acc", "test/auc", "test/ece"} <= set(metrics)
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["unseen_checked"] == 40 and summary["split"] == "test"
    report = json.loads((out / "similarity" / "test" / "report.json").read_text())
    assert report["inputs"]["a"]["n_images"] == 20 and report["inputs"]["b"]["n_images"] == 20
    assert set(report["sections"]["pair_score"]) >= {"real_real", "fake_fake", "real_fake"}

    # the carve of the training split with the training seed: unseen, so allowed
    cfg = compose(
        "eval",
        [*overrides, f"ckpt_path={ckpt}", "data.split=train", "data.max_per_class=16"],
        tmp_path / "eval_carve",
    )
    _, objects = evaluate(cfg)
    assert len(objects["datamodule"].test_set) == 8

    # another seed carves another test part, which holds training images: refused
    cfg = compose(
        "eval",
        [*overrides, f"ckpt_path={ckpt}", "data.split=train", "data.max_per_class=16", "seed=7"],
        tmp_path / "eval_seed",
    )
    with pytest.raises(ValueError, match="were used to train or select"):
        evaluate(cfg)
