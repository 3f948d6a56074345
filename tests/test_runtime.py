"""The optimised CPU runtime: features equal torch's, its own cache keys, fallbacks that lose nothing."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.encoders import runtime as rt
from semsim.features import extract_features

torch.set_num_threads(2)
TINY = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
INCEPTION = EncoderSpec("inception_fid", pretrained=False)
AVAILABLE = [n for n in rt.PREFERENCE if rt.installed(n)]
needs_runtime = pytest.mark.skipif(not AVAILABLE, reason="no CPU runtime installed")
SLOW = pytest.mark.slow


def _collection(n: int = 12, seed: int = 0, size: int = 24) -> ArrayCollection:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return ArrayCollection(images, np.arange(n) % 3, ["a", "b", "c"], "rand")


def _extract(coll, spec, **kw):  # noqa: ANN001, ANN202
    kw = {"batch_size": 5, "num_workers": 0, "device": "cpu", "progress": False} | kw
    return extract_features(coll, spec, **kw)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(np.abs(a64 - b64).max() / np.abs(b64).max())


@needs_runtime
@pytest.mark.parametrize("name", AVAILABLE)
@pytest.mark.parametrize(
    "spec",
    [TINY, pytest.param(EncoderSpec("resnet18", pretrained=False, image_size=32), marks=SLOW)],
    ids=["tiny_effnet", "resnet18"],
)
def test_runtime_features_match_torch_and_are_keyed_apart(spec, name, tmp_path: Path) -> None:  # noqa: ANN001
    coll = _collection()
    ref = _extract(coll, spec, cache_dir=tmp_path, runtime="torch")
    got = _extract(coll, spec, cache_dir=tmp_path, runtime=name)
    assert got.provenance["runtime"].startswith(name + " ")
    assert ref.provenance["runtime"] == "torch"
    assert got.provenance["cache_key"] != ref.provenance["cache_key"]
    assert not got.from_cache and got.shards_computed == 1  # not served torch's entry
    assert got.features.shape == ref.features.shape
    assert _max_rel(got.features, ref.features) <= 1e-4
    if ref.concepts is not None:
        assert _max_rel(got.concepts, ref.concepts) <= 1e-4
    assert len(list((tmp_path / "runtime").glob("*.onnx"))) == 1
    again = _extract(coll, spec, cache_dir=tmp_path, runtime=name)
    assert again.from_cache
    np.testing.assert_array_equal(again.features, got.features)


@SLOW  # the export of InceptionV3 takes 20 s to minutes on a shared 2-core machine
@needs_runtime
def test_inception_fid_runs_on_the_runtime(tmp_path: Path) -> None:
    coll = _collection(n=4, size=40)
    ref = _extract(coll, INCEPTION, cache_dir=tmp_path, runtime="torch", batch_size=4)
    got = _extract(coll, INCEPTION, cache_dir=tmp_path, runtime=AVAILABLE[0], batch_size=4)
    assert got.provenance["runtime"] != "torch"
    assert _max_rel(got.features, ref.features) <= 1e-4


def test_torch_keys_are_unchanged_by_the_runtime_field(tmp_path: Path) -> None:
    """Entries written before the runtime existed keep their keys (torch adds nothing)."""
    from semsim.features.cache import cache_key, feature_provenance

    prov = feature_provenance(_collection(), TINY, "32")
    legacy = {k: v for k, v in prov.items() if k != "runtime"}
    assert cache_key(legacy) == prov["cache_key"]
    other = feature_provenance(_collection(), TINY, "32", "onnxruntime") if AVAILABLE else None
    if other is not None:
        assert other["cache_key"] != prov["cache_key"]


def test_plan_auto_torch_and_unavailable(tmp_path: Path, monkeypatch, caplog) -> None:  # noqa: ANN001
    cpu = torch.device("cpu")
    kw = {"device": cpu, "precision": "32", "cache_dir": tmp_path, "distributed": False}
    assert rt.plan("torch", n_images=10**6, **kw) == "torch"
    assert rt.plan("auto", n_images=rt.AUTO_MIN_IMAGES - 1, **kw) == "torch"
    assert rt.plan("auto", n_images=rt.AUTO_MIN_IMAGES, **kw) == (AVAILABLE or ["torch"])[0]
    assert rt.plan("auto", n_images=10**6, **(kw | {"precision": "bf16"})) == "torch"
    assert rt.plan("auto", n_images=10**6, **(kw | {"device": torch.device("cuda")})) == "torch"
    assert rt.plan("auto", n_images=10**6, **(kw | {"cache_dir": None})) == "torch"
    with pytest.raises(ValueError, match="runtime='tensorrt'"):
        rt.plan("tensorrt", n_images=10, **kw)
    monkeypatch.setattr(rt, "installed", lambda name: False)
    with caplog.at_level(logging.WARNING, logger=rt.__name__):
        assert rt.plan("openvino", n_images=10, **kw) == "torch"
    assert "openvino is not installed" in caplog.text


@needs_runtime
def test_model_that_does_not_export_falls_back_to_torch(
    tmp_path: Path, monkeypatch, caplog
) -> None:  # noqa: ANN001
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("Unsupported: ONNX export of operator foo")

    monkeypatch.setattr(torch.onnx, "export", broken)
    coll = _collection()
    ref = _extract(coll, TINY, runtime="torch")
    with caplog.at_level(logging.WARNING, logger=rt.__name__):
        got = _extract(coll, TINY, cache_dir=tmp_path, runtime=AVAILABLE[0])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "encoder test_efficientnet" in lines[0]
    assert "does not export" in lines[0] and "Unsupported" in lines[0]
    assert got.provenance["runtime"] == "torch"
    np.testing.assert_allclose(got.features, ref.features, rtol=1e-5, atol=1e-6)
    # remembered: the next run does not try again, and says so in one line
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=rt.__name__):
        again = _extract(coll, TINY, cache_dir=tmp_path, runtime=AVAILABLE[0])
    assert again.from_cache and "could not export before" in caplog.text


@needs_runtime
def test_corrupt_exported_model_falls_back_then_reexports(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    coll, name = _collection(), AVAILABLE[0]
    first = _extract(coll, TINY, cache_dir=tmp_path, runtime=name)
    (onnx,) = (tmp_path / "runtime").glob("*.onnx")
    onnx.write_bytes(onnx.read_bytes()[:-100] + b"x" * 100)
    other = _collection(seed=1)  # not cached yet: the runtime is needed
    with caplog.at_level(logging.WARNING, logger=rt.__name__):
        got = _extract(other, TINY, cache_dir=tmp_path, runtime=name)
    assert f"corrupt exported model {onnx}" in caplog.text
    assert got.provenance["runtime"] == "torch"
    ref = _extract(other, TINY, runtime="torch")
    np.testing.assert_array_equal(got.features, ref.features)
    third = _extract(_collection(seed=2), TINY, cache_dir=tmp_path, runtime=name)
    assert third.provenance["runtime"] == first.provenance["runtime"]  # exported anew
    assert onnx.exists()


@needs_runtime
def test_a_checked_runtime_is_reused_in_the_process_until_its_file_changes(
    tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """A compare's second collection (and its content views) reuse the compiled, checked model;
    a rewritten exported file is compiled and checked again."""
    name, compiled = AVAILABLE[0], []
    real = rt._compile

    def counting(*args):  # noqa: ANN002, ANN202
        compiled.append(args[1])
        return real(*args)

    monkeypatch.setattr(rt, "_compile", counting)
    monkeypatch.setattr(rt, "_LOADED", {})
    first = _extract(_collection(seed=0), TINY, cache_dir=tmp_path, runtime=name)
    second = _extract(_collection(seed=1), TINY, cache_dir=tmp_path, runtime=name)
    assert len(compiled) == 1 and second.provenance["runtime"] == first.provenance["runtime"]
    ref = _extract(_collection(seed=1), TINY, runtime="torch")
    assert _max_rel(second.features, ref.features) <= rt.TOLERANCE
    (onnx,) = (tmp_path / "runtime").glob("*.onnx")
    onnx.write_bytes(onnx.read_bytes())  # the same bytes, written again: loaded again
    _extract(_collection(seed=2), TINY, cache_dir=tmp_path, runtime=name)
    assert len(compiled) == 2


@pytest.mark.skipif("openvino" not in AVAILABLE, reason="OpenVINO not installed")
def test_released_openvino_models_leave_fork_and_subprocess_working(tmp_path: Path) -> None:
    """Two compiled models released (a rewritten exported file, then the memo emptied), then a
    DataLoader's forked workers and a subprocess: the process lives on. With a Core made and
    released per model this crashed with SIGSEGV (it killed the test run itself)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = f"""
import gc, subprocess, sys
import numpy as np, torch
from pathlib import Path
from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec, runtime as rt
from semsim.features import extract_features
cache = Path({str(tmp_path)!r})
spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
def coll(seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (6, 24, 24, 3), dtype=np.uint8)
    return ArrayCollection(images, np.arange(6) % 3, ["a", "b", "c"], "r")
kw = dict(batch_size=3, num_workers=0, device="cpu", progress=False, cache_dir=cache)
extract_features(coll(0), spec, runtime="openvino", **kw)
(onnx,) = (cache / "runtime").glob("*.onnx")
onnx.write_bytes(onnx.read_bytes())
extract_features(coll(1), spec, runtime="openvino", **kw)
rt._LOADED.clear()
gc.collect()
data = torch.utils.data.TensorDataset(torch.zeros(4, 2))
loader = torch.utils.data.DataLoader(
    data, batch_size=2, num_workers=2, multiprocessing_context="fork"
)
assert sum(len(x) for (x,) in loader) == 4
child = subprocess.run([sys.executable, "-c", "print(7)"], capture_output=True, text=True)
print("child:", child.stdout.strip())
"""
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.splitlines()[-1] == "child: 7", proc.stdout


@pytest.mark.skipif("openvino" not in AVAILABLE, reason="OpenVINO not installed")
def test_openvino_streams_split_the_batch_and_give_the_same_features(
    tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """One stream a core (each taking the batch's next chunk of OV_CHUNK images as it finishes
    one) gives the one-stream result, in order, for a batch of many chunks, one that splits
    evenly, unevenly, and one smaller than a chunk."""
    _extract(_collection(seed=0), TINY, cache_dir=tmp_path, runtime="openvino")
    (onnx,) = (tmp_path / "runtime").glob("*.onnx")
    monkeypatch.setattr(rt, "OV_CHUNK", 2)
    runs = {}
    for streams in ("1", "2", "3"):
        monkeypatch.setenv("SEMSIM_OV_STREAMS", streams)
        runs[streams] = rt._compile("openvino", onnx)
    x = np.random.default_rng(0).standard_normal((11, 3, 32, 32)).astype(np.float32)
    for rows in (x, x[:6], x[:5], x[:1]):
        want = runs["1"](rows)
        for streams in ("2", "3"):
            got = runs[streams](rows)
            assert [g.shape for g in got] == [w.shape for w in want]
            for g, w in zip(got, want, strict=True):
                assert _max_rel(g, w) <= 1e-6, (streams, len(rows))


def test_bad_runtime_option_is_one_usage_error(tmp_path: Path) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from semsim.utils import UsageError, check_compare_options
    from tests.conftest import CONF_DIR

    def cfg(*overrides: str):  # noqa: ANN202
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("compare", [f"out_dir={tmp_path}", f"cache_dir={tmp_path}", *overrides])

    with pytest.raises(UsageError, match="runtime='tensorrt': use one of auto, torch"):
        check_compare_options(cfg("runtime=tensorrt"))
    assert cfg().runtime == "auto"
    check_compare_options(cfg("runtime=torch"))


@SLOW
@needs_runtime
@pytest.mark.parametrize("name", AVAILABLE)
def test_default_encoder_on_real_images_matches_torch(name, shared_data, tmp_path: Path) -> None:  # noqa: ANN001
    """The packaged EfficientNet-Lite0 at 224 px on CIFAR-10 images: features and ImageNet logits."""
    from semsim.data.sources import cifar10

    coll = cifar10(root=str(shared_data / "cifar10"), split="test", max_per_class=2, seed=0)
    spec = EncoderSpec("tf_efficientnet_lite0")
    ref = _extract(coll, spec, cache_dir=tmp_path, runtime="torch", batch_size=8)
    got = _extract(coll, spec, cache_dir=tmp_path, runtime=name, batch_size=8)
    assert got.provenance["runtime"].startswith(name)
    assert got.features.shape == (20, 1280) and got.concepts.shape == (20, 1000)
    assert _max_rel(got.features, ref.features) <= 1e-4
    assert _max_rel(got.concepts, ref.concepts) <= 1e-4
    np.testing.assert_array_equal(got.concepts.argmax(1), ref.concepts.argmax(1))
