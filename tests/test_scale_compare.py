"""Compare at scale: sharded, resumable cache; DDP compare equals the single-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.features import extract_features

ROOT = Path(__file__).resolve().parents[1]
SPEC = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
KW = {"batch_size": 3, "num_workers": 0, "device": "cpu", "progress": False}
torch.set_num_threads(2)


def _collection(n: int = 10) -> ArrayCollection:
    images = np.random.default_rng(0).integers(0, 256, (n, 24, 24, 3), dtype=np.uint8)
    return ArrayCollection(images, np.arange(n) % 2, ["p", "q"], "rand")


def _counting(fail_after: int | None = None):  # noqa: ANN202
    """A built encoder whose ``encode`` calls are counted (and fail after ``fail_after``)."""
    enc = SPEC.build()
    calls = {"n": 0}
    real = enc.encode

    def encode(x: torch.Tensor):  # noqa: ANN202
        if fail_after is not None and calls["n"] >= fail_after:
            raise RuntimeError("killed")
        calls["n"] += 1
        return real(x)

    enc.encode = encode  # type: ignore[method-assign]
    return enc, calls


def test_killed_extraction_resumes_at_the_first_missing_shard(tmp_path: Path) -> None:
    col = _collection(10)
    reference = extract_features(col, SPEC, **KW)  # no cache, one pass
    enc, calls = _counting(fail_after=2)  # shard = batch = 3 images: dies in the third shard
    with pytest.raises(RuntimeError, match="killed"):
        extract_features(col, enc, cache_dir=tmp_path, shard_size=3, **KW)
    assert calls["n"] == 2 and len(list(tmp_path.glob("*.npz"))) == 2  # shards 0 and 1 written
    enc, calls = _counting()
    out = extract_features(col, enc, cache_dir=tmp_path, shard_size=3, **KW)
    assert calls["n"] == 2 and out.shards_computed == 2  # only shards 2 (3 images) and 3 (1)
    assert not out.from_cache
    np.testing.assert_array_equal(out.features, reference.features)
    np.testing.assert_array_equal(out.concepts, reference.concepts)
    assert len(list(tmp_path.glob("*.npz"))) == 1  # the whole entry; shards removed
    enc, calls = _counting()
    again = extract_features(col, enc, cache_dir=tmp_path, shard_size=3, **KW)
    assert again.from_cache and calls["n"] == 0
    np.testing.assert_array_equal(again.features, reference.features)


def test_shards_reach_the_hook_in_order_and_keep_false_holds_no_rows() -> None:
    col = _collection(7)
    reference = extract_features(col, SPEC, **KW)
    seen: list[tuple[int, np.ndarray]] = []
    out = extract_features(
        col,
        SPEC,
        shard_size=3,
        keep=False,
        on_shard=lambda a, p: seen.append((a, p.features)),
        **KW,
    )
    assert out.features.shape == (0, reference.features.shape[1])
    assert [a for a, _ in seen] == [0, 3, 6]
    np.testing.assert_array_equal(np.concatenate([f for _, f in seen]), reference.features)


def _run_compare(tmp_path: Path, name: str, extra: list[str]) -> dict:
    out = tmp_path / name
    script = tmp_path / "run_compare.py"  # Lightning relaunches this command once per process
    script.write_text(
        "import semsim.data.sources  # registers the a=/b= config groups before Hydra composes\n"
        "from semsim.compare import main\n"
        "main()\n"
    )
    cmd = [
        sys.executable, str(script), "encoder.pretrained=false", "encoder.image_size=32",
        "a.n_per_class=5", "a.n_classes=3", "b=synthetic", "b.n_per_class=5", "b.n_classes=3",
        "b.seed=1", "num_workers=0", "progress=false", "n_bootstrap=4", "batch_size=4",
        f"out_dir={out}", f"cache_dir={tmp_path / (name + '_cache')}", f"hydra.run.dir={out}",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_ddp_compare_equals_the_single_process_run(tmp_path: Path) -> None:
    single = _run_compare(tmp_path, "single", [])
    ddp = _run_compare(tmp_path, "ddp", ["trainer=ddp_cpu", "trainer.devices=2", "shard_size=7"])
    assert list(ddp["scores"]) == list(single["scores"])
    for name, s in single["scores"].items():
        np.testing.assert_allclose(ddp["scores"][name]["value"], s["value"], rtol=1e-6, atol=1e-9)
    for name, m in single["matrices"].items():
        np.testing.assert_allclose(
            ddp["matrices"][name]["values"], m["values"], rtol=1e-6, atol=1e-9
        )


def _compose(tmp_path: Path, *overrides: str):  # noqa: ANN202
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "compare",
            overrides=[
                "encoder.pretrained=false", "encoder.image_size=32", "progress=false",
                "num_workers=0", "a.n_per_class=6", "b=synthetic", "b.n_per_class=6", "b.seed=1",
                "n_bootstrap=0", "noise_floor=false", "class_matrices=false",
                f"out_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}", *overrides,
            ],
        )  # fmt: skip


def test_streaming_compare_uses_running_sums_and_states_the_sample(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from semsim.compare import compare

    cfg = _compose(
        tmp_path, "streaming=true", "sample_size=10", "shard_size=7", "batch_size=4",
        "scores=[prototype_cosine,fd,kid,precision]",
    )  # fmt: skip
    report = compare(cfg)
    info = report.sections["streaming"]
    assert info["rows"] == {"a": 24, "b": 24} and info["sample_sizes"] == {"a": 10, "b": 10}
    # independent full-data references (float64 numpy/scipy) from every row
    spec = instantiate(cfg.encoder)
    xs = []
    for which in ("a", "b"):
        coll = instantiate(cfg[which], _convert_="all")
        xs.append(extract_features(coll, spec, **KW).features.astype(np.float64))
    xa, xb = xs
    ma, mb = xa.mean(0), xb.mean(0)
    cos = ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)
    ca, cb = np.cov(xa, rowvar=False), np.cov(xb, rowvar=False)
    w, v = np.linalg.eigh(ca)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # PSD square root of ca
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ cb @ root), 0, None)).sum()
    fd = ((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * cross
    assert report.scores["prototype_cosine"].value == pytest.approx(cos, rel=1e-6)
    assert report.scores["fd_effnet_lite0"].value == pytest.approx(fd, rel=1e-4, abs=1e-6)
    assert report.scores["prototype_cosine"].extra["streamed"] is True
    assert report.scores["kid"].extra["sample_value"] is not None  # kid: on the sample
    assert set(info["summary_scores"]) >= {"prototype_cosine", "fd_effnet_lite0"}


def test_streaming_auto_follows_the_memory_budget(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from semsim.scale import should_stream

    cfg = _compose(tmp_path)
    spec = instantiate(cfg.encoder)
    colls = {w: instantiate(cfg[w], _convert_="all") for w in ("a", "b")}
    on, need = should_stream("auto", colls, spec, budget_gb=1e-6)
    assert on and need == 48 * (1280 + 1000) * 4
    assert not should_stream("auto", colls, spec, budget_gb=8)[0]
    assert should_stream("true", colls, spec, budget_gb=8)[0]
    with pytest.raises(ValueError, match="streaming="):
        should_stream("maybe", colls, spec, budget_gb=8)
