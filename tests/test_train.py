"""The training entry point: the smoke run, every experiment config, loggers, sweeps."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hydra.utils import instantiate

from semsim.train import build, optimized_value, train
from tests.conftest import CONF_DIR, compose

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def test_train_yaml_defaults_are_ordered():
    from omegaconf import OmegaConf

    defaults = OmegaConf.load(CONF_DIR / "train.yaml").defaults
    keys = [next(iter(d)) if not isinstance(d, str) else d for d in defaults]
    assert keys == [
        "_self_", "data", "model", "callbacks", "logger", "trainer", "paths", "extras",
        "hydra", "experiment", "hparams_search",
    ]  # fmt: skip


def test_smoke_run_writes_run_folder(tmp_path: Path):
    cfg = compose("train", ["experiment=smoke"], tmp_path)
    metrics, objects = train(cfg)

    value = optimized_value(cfg, metrics)
    assert cfg.optimized_metric == "val/acc_best"
    assert value is not None and 0.0 <= value <= 1.0
    assert math.isclose(value, metrics["val/acc_best"])
    assert "test/acc" in metrics and 0.0 <= metrics["test/acc"] <= 1.0
    # a checkpoint, a metrics CSV with the logged keys
    ckpts = list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert any(p.name == "last.ckpt" for p in ckpts) and len(ckpts) >= 2
    with open(tmp_path / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    columns = set(rows[0])
    assert {"train/loss_epoch", "val/acc", "val/acc_best", "test/acc"} <= columns
    epochs = {r["epoch"] for r in rows if r.get("val/acc")}
    assert len(epochs) == cfg.trainer.max_epochs


def test_smoke_checkpoint_loads_weights_only(tmp_path: Path):
    import torch

    cfg = compose("train", ["experiment=smoke", "trainer.max_epochs=1", "test=false"], tmp_path)
    train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["semsim"]["net"]["backbone"] == "test_resnet"
    assert any(k.startswith("net.backbone.") for k in ckpt["state_dict"])


def test_missing_optimized_metric_is_a_clear_error(tmp_path: Path):
    cfg = compose("train", ["experiment=smoke", "optimized_metric=val/nope"], tmp_path)
    with pytest.raises(ValueError, match="val/nope"):
        optimized_value(cfg, {"val/acc": 0.5})


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(name: str, tmp_path: Path):
    cfg = compose(
        "train",
        [
            f"experiment={name}",
            "model.net.pretrained=false",
            "logger=csv",
            "trainer.accelerator=cpu",
            "trainer.precision=32-true",
        ],
        tmp_path,
    )
    _shrink_data(cfg, tmp_path)
    objects = build(cfg)
    assert objects["model"].net.head.out_features == objects["datamodule"].num_classes
    assert objects["trainer"] is not None
    for cb in cfg.get("callbacks", {}).values():
        if cb and "_target_" in cb:
            instantiate(cb)


def _shrink_data(cfg, tmp_path: Path) -> None:
    """Point real-data experiments at a tiny fixture of the same layout (no download)."""
    from omegaconf import open_dict

    from tests.helpers import write_class_folders

    target = cfg.data._target_
    with open_dict(cfg):
        if target.endswith("cifar10"):
            root = write_class_folders(tmp_path / "cifar10", ["train", "test"], 10, 3)
            cfg.data.root = str(root)
        elif target.endswith("cifake"):
            root = write_class_folders(tmp_path / "cifake", ["train"], 0, 6, cifake=True)
            cfg.data.root = str(root)
        cfg.data.datamodule.num_workers = 0


def test_wandb_logger_offline_leaves_files(tmp_path: Path):
    cfg = compose(
        "train",
        ["experiment=smoke", "logger=wandb", "trainer.max_epochs=1", "test=false"],
        tmp_path,
    )
    train(cfg)
    import wandb

    wandb.finish()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs, f"no offline run under {tmp_path / 'wandb'}"
    assert list(runs[0].glob("*.wandb")), "offline run has no .wandb data file"


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    cmd = [
        sys.executable, "-m", "semsim.train", "experiment=cifar10_cpu",
        f"data.root={tmp_path / 'missing'}", "data.download=false",
        f"hydra.run.dir={tmp_path / 'run'}", "extras.print_config=false",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "missing" in errors[0]
    assert "Traceback" not in proc.stderr
