"""Hydra sweeps: a basic-sweeper multirun over the smoke experiment records every job's
optimized_metric; the SLURM launcher config composes (when hydra-submitit-launcher is present)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, compose


def test_slurm_launcher_config_composes(tmp_path: Path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose(
        "train",
        [
            "experiment=smoke",
            "hydra/launcher=slurm",
            "hydra.launcher.partition=gpu",
            "hydra.launcher.tasks_per_node=4",
        ],
        tmp_path,
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.partition == "gpu" and launcher.tasks_per_node == 4
    assert launcher.gpus_per_node == 1 and launcher.timeout_min == 240
    assert launcher.name == "smoke"


def test_cifar10_lr_search_is_a_multirun_grid(tmp_path: Path):
    from hydra.types import RunMode

    cfg = compose("train", ["experiment=cifar10", "hparams_search=cifar10_lr"], tmp_path)
    assert cfg.hydra.mode == RunMode.MULTIRUN
    params = cfg.hydra.sweeper.params
    assert len(str(params["model.optimizer.lr"]).split(",")) == 3
    assert cfg.optimized_metric == "val/acc_best"


@pytest.mark.slow
def test_basic_sweeper_multirun_records_each_jobs_optimized_metric(tmp_path: Path):
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable, "-m", "semsim.train", "experiment=smoke", "hparams_search=smoke_lr",
        "trainer.max_epochs=1", "callbacks=none", "extras.print_config=false",
        f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path / 'logs'}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "SEMSIM_DEBUG": "1"}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]

    assert (sweep / "multirun.yaml").exists()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    lrs = []
    for job in jobs:
        record = json.loads((job / "optimized_metric.json").read_text())
        # the value the job returned is the best val/acc it logged
        with open(job / "csv" / "metrics.csv") as f:
            val = [float(r["val/acc"]) for r in csv.DictReader(f) if r.get("val/acc")]
        assert record["name"] == "val/acc_best"
        assert record["value"] == pytest.approx(max(val))
        assert record["job"]["num"] == int(job.name)
        # the swept value reached the job's composed config
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        lr = float(config["model"]["optimizer"]["lr"])
        swept = [o for o in record["job"]["overrides"] if o.startswith("model.optimizer.lr=")]
        assert len(swept) == 1 and float(swept[0].split("=")[1]) == lr
        lrs.append(lr)
    assert sorted(lrs) == pytest.approx([1e-3, 3e-3])
