"""DDP: trainer=ddp_cpu (2 gloo processes) trains, evaluates and extracts features like one
process; metric states sync across processes; only rank 0 reports. The multi-process checks run
the real CLI (or a script) in subprocesses and are ``slow``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.train import build, check_launch
from tests.conftest import ROOT, compose
from tests.helpers import run_gloo

SIMILARITY_SCORES = "[prototype_cosine,fd,kid,cmmd,precision,recall,density,coverage]"


def _env() -> dict[str, str]:
    # one thread per process: the same kernels (and so the same numbers) in every run
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "SEMSIM_DEBUG": "1"}


def _train_cli(tmp_path: Path, name: str, args: list[str]) -> Path:
    run_dir = tmp_path / name
    cmd = [
        sys.executable, "-m", "semsim.train", *args,
        f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path / 'logs'}",
        f"paths.cache_dir={tmp_path / 'cache'}", "extras.print_config=false",
        "callbacks.progress_bar.refresh_rate=0",
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
    return run_dir


def _matrices(run_dir: Path, stage: str) -> dict[str, np.ndarray]:
    report = json.loads((run_dir / "similarity" / stage / "report.json").read_text())
    return {k: np.asarray(m["values"], dtype=np.float64) for k, m in report["matrices"].items()}


def _csv_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


# --- fast: configs and the multirun guard -----------------------------------------------------


def test_ddp_trainer_configs_compose(tmp_path: Path):
    gpu = compose("train", ["experiment=smoke", "trainer=ddp"], tmp_path).trainer
    assert (gpu.accelerator, gpu.strategy, gpu.devices) == ("gpu", "ddp", 2)
    assert gpu.sync_batchnorm is True and gpu.precision == "bf16-mixed"
    cpu = compose("train", ["experiment=smoke", "trainer=ddp_cpu"], tmp_path).trainer
    assert (cpu.accelerator, cpu.strategy, cpu.devices) == ("cpu", "ddp", 2)


def test_ddp_trainer_builds_on_cpu_and_is_refused_in_a_local_multirun(tmp_path: Path):
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    cfg = compose("train", ["experiment=smoke", "trainer=ddp_cpu"], tmp_path)
    trainer = build(cfg)["trainer"]
    assert trainer.world_size == 2
    assert type(trainer.strategy).__name__ == "DDPStrategy"
    check_launch(trainer)  # a single run: Lightning may relaunch the command line
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.mode = RunMode.MULTIRUN
    HydraConfig.instance().set_config(cfg)
    with pytest.raises(ValueError, match="restart the whole multirun"):
        check_launch(trainer)
    single = build(compose("train", ["experiment=smoke"], tmp_path / "one"))["trainer"]
    check_launch(single)  # one process: nothing is relaunched


# --- slow: two processes end to end -----------------------------------------------------------


@pytest.mark.slow
def test_two_processes_give_the_same_similarity_report_as_one(tmp_path: Path):
    # no training: the seeded initial weights are evaluated, so both runs embed with identical
    # weights; 3 classes x 15 images = 45 is odd, so the two ranks get unequal shares
    args = [
        "experiment=smoke", "data.n_classes=3", "train=false", "optimized_metric=test/acc",
        "callbacks=similarity", "callbacks.similarity.stages=[test]",
        f"callbacks.similarity.scores={SIMILARITY_SCORES}", "callbacks.similarity.max_per_class=15",
    ]  # fmt: skip
    one = _train_cli(tmp_path, "one", [*args, "trainer=cpu"])
    two = _train_cli(tmp_path, "two", [*args, "trainer=ddp_cpu"])

    m1, m2 = _matrices(one, "test"), _matrices(two, "test")
    assert set(m1) == set(m2) and len(m1) == 8
    for name in m1:
        assert m1[name].shape == (3, 3)
        np.testing.assert_allclose(m2[name], m1[name], rtol=1e-6, atol=1e-12, err_msg=name)
    # test/acc is a torchmetrics state synced across the two processes: the same as one process
    acc1 = json.loads((one / "optimized_metric.json").read_text())
    acc2 = json.loads((two / "optimized_metric.json").read_text())
    assert acc1["name"] == "test/acc" and acc2["value"] == acc1["value"]
    # both processes ran (both log to the run's log file) but rank 0 alone built the report
    log = (two / "smoke.log").read_text()
    assert log.count("test (checkpoint: current weights)") == 2
    assert log.count("similarity (test): 45 images") == 1


@pytest.mark.slow
def test_ddp_cpu_training_run(tmp_path: Path):
    run = _train_cli(
        tmp_path,
        "ddp",
        [
            "experiment=smoke", "trainer=ddp_cpu", "trainer.max_epochs=2",
            "callbacks=similarity", "callbacks.similarity.stages=[fit,test]",
            "callbacks.similarity.scores=[prototype_cosine]",
        ],
    )  # fmt: skip
    # 192 training images in batches of 32 over 2 processes: 3 steps per epoch, not 6
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["global_step"] == 6 and ckpt["epoch"] == 1
    rows = _csv_rows(run)
    val = [float(r["val/acc"]) for r in rows if r.get("val/acc")]
    assert len(val) == 2
    record = json.loads((run / "optimized_metric.json").read_text())
    assert record["name"] == "val/acc_best" and record["value"] == pytest.approx(max(val))
    for stage in ("fit", "test"):
        assert _matrices(run, stage)["prototype_cosine"].shape == (4, 4)
    log = (run / "smoke.log").read_text()
    assert log.count("similarity (fit)") == 1 and log.count("similarity (test)") == 1


_EXTRACT_SCRIPT = """
import sys
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.features import extract_features_distributed

torch.set_num_threads(1)
with initialize_config_dir(config_dir=sys.argv[2], version_base="1.3"):
    trainer = compose("train", overrides=["trainer=ddp_cpu"]).trainer
kwargs = {k: trainer[k] for k in ("accelerator", "devices", "strategy", "num_nodes", "precision")}
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (13, 24, 24, 3), dtype=np.uint8)
col = ArrayCollection(images, np.arange(13) % 3, ["a", "b", "c"], "rand")
spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
out = extract_features_distributed(
    col, spec, batch_size=4, num_workers=0, progress=False, trainer_kwargs=kwargs
)
import os
np.save(sys.argv[1] + f"/rank{os.environ.get('LOCAL_RANK', '0')}.npy", out.features)
"""


@pytest.mark.slow
def test_feature_extraction_with_the_ddp_cpu_trainer_config(tmp_path: Path):
    from semsim.data.collection import ArrayCollection
    from semsim.encoders import EncoderSpec
    from semsim.features import extract_features

    script = tmp_path / "extract.py"
    script.write_text(textwrap.dedent(_EXTRACT_SCRIPT))
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(ROOT / "conf")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (13, 24, 24, 3), dtype=np.uint8)
    col = ArrayCollection(images, np.arange(13) % 3, ["a", "b", "c"], "rand")
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = extract_features(col, spec, batch_size=4, num_workers=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    for rank in (0, 1):
        got = np.load(tmp_path / f"rank{rank}.npy")
        assert got.shape == single.features.shape == (13, single.features.shape[1])
        np.testing.assert_allclose(got, single.features, rtol=1e-6, atol=1e-7)


_SYNC_SCRIPT = """
import os, sys
import numpy as np
import torch
import torch.distributed as dist

torch.set_num_threads(1)
dist.init_process_group("gloo")
from semsim.metrics import FrechetStats, ReservoirSample

rank, world = dist.get_rank(), dist.get_world_size()
g = torch.Generator().manual_seed(0)
x = torch.randn(1001, 6, generator=g, dtype=torch.float64) + 2.0
fs = FrechetStats(6)
indexed, stream = ReservoirSample(50, 6, seed=5), ReservoirSample(50, 6, seed=5)
for c in torch.arange(rank, 1001, world).split(64):
    fs.update(x[c]); indexed.update(x[c], c); stream.update(x[c])
mu, sigma = fs.compute()
a, b = indexed.compute(), stream.compute()
np.savez(
    os.path.join(sys.argv[1], f"rank{rank}.npz"), mu=mu.numpy(), sigma=sigma.numpy(),
    idx=a.index.numpy(),
    idx_feat=a.features.numpy(), idx_seen=a.seen, stream_feat=b.features.numpy(),
    stream_seen=b.seen,
)
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_metric_states_sync_across_two_gloo_processes(tmp_path: Path):
    from semsim.metrics import uniform_keys

    script = tmp_path / "sync.py"
    script.write_text(textwrap.dedent(_SYNC_SCRIPT))
    run_gloo(script, [str(tmp_path)], tmp_path, _env())

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1001, 6, generator=g, dtype=torch.float64) + 2.0
    xn = x.numpy()
    bottom = set(np.argsort(uniform_keys(torch.arange(1001), 5).numpy())[:50].tolist())
    results = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for res in results:  # every rank holds the synced (whole-data) values
        np.testing.assert_allclose(res["mu"], xn.mean(0), rtol=1e-12)
        np.testing.assert_allclose(res["sigma"], np.cov(xn, rowvar=False), rtol=1e-10, atol=1e-13)
        # indexed reservoir: exactly the single-pass bottom-k sample of all 1001 rows
        assert int(res["idx_seen"]) == 1001 and set(res["idx"].tolist()) == bottom
        np.testing.assert_array_equal(res["idx_feat"], xn[res["idx"]])
        # key-stream reservoir: 50 distinct rows of the data, drawn from both shards
        assert int(res["stream_seen"]) == 1001 and res["stream_feat"].shape == (50, 6)
        rows = np.argmin(((res["stream_feat"][:, None] - xn[None]) ** 2).sum(-1), axis=1)
        np.testing.assert_array_equal(res["stream_feat"], xn[rows])
        assert len(set(rows.tolist())) == 50 and {0, 1} <= set((rows % 2).tolist())
    np.testing.assert_array_equal(results[0]["stream_feat"], results[1]["stream_feat"])


@pytest.mark.gpu
@pytest.mark.slow
def test_ddp_gpu_smoke_run(tmp_path: Path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    devices = min(2, torch.cuda.device_count())
    run = _train_cli(
        tmp_path,
        "gpu",
        ["experiment=smoke", "trainer=ddp", f"trainer.devices={devices}", "trainer.max_epochs=1"],
    )
    assert (run / "checkpoints" / "last.ckpt").exists()
    assert json.loads((run / "optimized_metric.json").read_text())["value"] is not None
