"""Feature extraction: determinism, provenance-keyed cache, corruption handling, DDP order."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.data.collection import ArrayCollection, Subset
from semsim.encoders import EncoderSpec
from semsim.features import Features, extract_features, feature_provenance

torch.set_num_threads(2)
ROOT = Path(__file__).resolve().parents[1]
SPEC = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)


def _collection(n: int = 10, seed: int = 0, labelled: bool = True) -> ArrayCollection:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 24, 24, 3), dtype=np.uint8)
    labels = np.arange(n) % 3 if labelled else None
    attrs = {"parity": (np.arange(n) % 2, ["even", "odd"])}
    return ArrayCollection(images, labels, ["a", "b", "c"] if labelled else None, "rand", attrs)


def _reference(collection: ArrayCollection) -> np.ndarray:
    """Features computed by hand: the encoder on each transformed image, one at a time."""
    enc = SPEC.build()
    with torch.inference_mode():
        rows = [enc(enc.transform(collection.load_image(i))[None]) for i in range(len(collection))]
    return torch.cat(rows).numpy()


def _extract(collection, spec=SPEC, **kw) -> Features:  # noqa: ANN001
    kw = {"batch_size": 4, "num_workers": 0, "device": "cpu", "progress": False} | kw
    return extract_features(collection, spec, **kw)


def test_features_in_collection_order_with_labels_and_attributes() -> None:
    col = _collection()
    out = _extract(col)
    assert out.features.dtype == np.float32 and out.features.shape == (10, 256)
    np.testing.assert_allclose(out.features, _reference(col), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out.labels, col.labels)
    assert out.class_names == ["a", "b", "c"] and not out.from_cache
    np.testing.assert_array_equal(out.attributes["parity"][0], np.arange(10) % 2)
    assert out.provenance["collection"]["fingerprint"] == col.fingerprint()
    assert out.provenance["encoder"]["weights"] == "random-init:seed=0"


def test_same_inputs_give_the_same_features() -> None:
    col = _collection(9, labelled=False)
    a = _extract(col)
    b = _extract(col)
    assert np.array_equal(a.features, b.features) and a.labels is None
    workers = _extract(col, num_workers=2)
    assert np.array_equal(a.features, workers.features)
    other_batches = _extract(col, batch_size=5)
    np.testing.assert_allclose(a.features, other_batches.features, rtol=1e-5, atol=1e-6)
    cl = _extract(col, channels_last=True)
    np.testing.assert_allclose(a.features, cl.features, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_on_cpu_is_close_and_cached_separately(tmp_path: Path) -> None:
    col = _collection(6)
    fp32 = _extract(col, cache_dir=tmp_path)
    bf16 = _extract(col, precision="bf16-mixed", cache_dir=tmp_path)
    assert not bf16.from_cache and bf16.features.dtype == np.float32
    cos = (fp32.features * bf16.features).sum(1) / (
        np.linalg.norm(fp32.features, axis=1) * np.linalg.norm(bf16.features, axis=1)
    )
    assert cos.min() > 0.99
    assert fp32.provenance["cache_key"] != bf16.provenance["cache_key"]
    with pytest.raises(ValueError, match="precision"):
        _extract(col, precision="8")


def test_second_run_loads_from_cache_without_building(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    col = _collection()
    first = _extract(col, cache_dir=tmp_path)
    assert not first.from_cache

    def no_build(self):  # noqa: ANN001, ANN202
        raise AssertionError("the model was built on a cache hit")

    monkeypatch.setattr(EncoderSpec, "build", no_build)
    again = _extract(col, cache_dir=tmp_path)
    assert again.from_cache and np.array_equal(again.features, first.features)
    np.testing.assert_array_equal(again.labels, col.labels)
    # the cache holds an npz readable without pickle + JSON metadata, and no temp files
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npz")
    with np.load(tmp_path / files[1], allow_pickle=False) as z:
        assert np.array_equal(z["features"], first.features)
    meta = json.loads((tmp_path / files[0]).read_text())
    assert meta["provenance"]["encoder"]["name"] == "test_efficientnet"


def test_any_changed_input_or_encoder_misses_the_cache(tmp_path: Path) -> None:
    col = _collection()
    base = _extract(col, cache_dir=tmp_path)
    changed_pixel = col.images.copy()
    changed_pixel[3, 0, 0, 0] ^= 1
    col2 = ArrayCollection(changed_pixel, col.labels, col.class_names, "rand")
    assert not _extract(col2, cache_dir=tmp_path).from_cache
    assert not _extract(Subset(col, range(9)), cache_dir=tmp_path).from_cache
    other_size = EncoderSpec("test_efficientnet", pretrained=False, image_size=40)
    assert not _extract(col, other_size, cache_dir=tmp_path).from_cache
    other_model = EncoderSpec("test_resnet", pretrained=False, image_size=32)
    assert not _extract(col, other_model, cache_dir=tmp_path).from_cache
    assert _extract(col, cache_dir=tmp_path).from_cache  # the original is still there
    assert len({base.provenance["cache_key"]}) == 1


def test_checkpoint_change_misses_the_cache(tmp_path: Path) -> None:
    import timm

    col = _collection(4)
    path = tmp_path / "w.pth"
    torch.manual_seed(0)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), path)
    spec = EncoderSpec("test_efficientnet", checkpoint=str(path), image_size=32)
    a = _extract(col, spec, cache_dir=tmp_path / "c")
    assert _extract(col, spec, cache_dir=tmp_path / "c").from_cache
    torch.manual_seed(1)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), path)
    b = _extract(col, spec, cache_dir=tmp_path / "c")
    assert not b.from_cache and not np.allclose(a.features, b.features)


@pytest.mark.parametrize("damage", ["truncate", "tamper", "bad_json"])
def test_corrupt_cache_entry_is_recomputed(tmp_path: Path, damage: str) -> None:
    col = _collection(6)
    good = _extract(col, cache_dir=tmp_path)
    npz = next(tmp_path.glob("*.npz"))
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "tamper":  # a valid npz with other numbers: only the checksum can tell
        np.savez(npz, features=good.features + 1)
    else:
        next(tmp_path.glob("*.json")).write_text("{not json")
    again = _extract(col, cache_dir=tmp_path)
    assert not again.from_cache and np.array_equal(again.features, good.features)
    assert _extract(col, cache_dir=tmp_path).from_cache  # rewritten


def test_built_encoder_is_accepted_and_keyed_by_its_weights(tmp_path: Path) -> None:
    col = _collection(5)
    enc = SPEC.build()
    from semsim.encoders import Encoder

    bare = Encoder(enc.net, "mine", enc.data_config)  # e.g. a trained backbone, no spec
    out = _extract(col, bare, cache_dir=tmp_path)
    assert out.provenance["encoder"]["weights"].startswith("state-sha256:")
    np.testing.assert_array_equal(out.features, _extract(col, SPEC).features)
    assert _extract(col, bare, cache_dir=tmp_path).from_cache
    with torch.no_grad():
        bare.net.conv_stem.weight.add_(1.0)
    assert not _extract(col, bare, cache_dir=tmp_path).from_cache


def test_provenance_needs_no_model_and_empty_collection_is_an_error(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(EncoderSpec, "build", lambda self: (_ for _ in ()).throw(AssertionError))
    prov = feature_provenance(_collection(3), SPEC, "32")
    assert prov["encoder"]["preprocessing"]["input_size"] == [3, 32, 32]
    assert len(prov["cache_key"]) == 64
    empty = ArrayCollection(np.zeros((0, 8, 8, 3), np.uint8), name="empty")
    with pytest.raises(ValueError, match="empty"):
        _extract(empty)


_DDP_SCRIPT = """
import sys
import numpy as np
import torch
torch.set_num_threads(1)
from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.features import extract_features_distributed

rng = np.random.default_rng(0)
images = rng.integers(0, 256, (11, 24, 24, 3), dtype=np.uint8)
col = ArrayCollection(images, np.arange(11) % 3, ["a", "b", "c"], "rand")
spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
out = extract_features_distributed(
    col, spec, batch_size=4, num_workers=0, progress=False,
    trainer_kwargs={"accelerator": "cpu", "devices": 2, "strategy": "ddp"},
)
import torch.distributed as dist
rank = dist.get_rank() if dist.is_initialized() else 0
np.save(sys.argv[1] + f"/rank{rank}.npy", out.features)
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes_give_identical_features_in_order(tmp_path: Path) -> None:
    script = tmp_path / "ddp_extract.py"
    script.write_text(textwrap.dedent(_DDP_SCRIPT))
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (11, 24, 24, 3), dtype=np.uint8)
    col = ArrayCollection(images, np.arange(11) % 3, ["a", "b", "c"], "rand")
    # same thread count as the DDP workers: CPU kernels split reductions by thread, batch
    # composition doesn't change a sample's numbers
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = _extract(col, batch_size=4).features
    finally:
        torch.set_num_threads(threads)
    for rank in (0, 1):
        dist = np.load(tmp_path / f"rank{rank}.npy")
        assert dist.shape == single.shape  # padding dropped (11 images over 2 ranks)
        # each process batches other rows (rank r: r, r + 2, ...) than the single run, and CPU
        # kernels may round a sample differently in another batch (measured: <= 1e-8 abs); same
        # tolerance as test_scale_ddp's extraction check
        np.testing.assert_allclose(dist, single, rtol=1e-6, atol=1e-7)


def test_channels_last_is_the_default_for_encoders_and_keeps_the_features(monkeypatch) -> None:  # noqa: ANN001
    """An encoder runs channels-last unless told otherwise (measured faster on CPU); the features
    equal the contiguous layout's and the one-image-at-a-time reference to 1e-4."""
    import semsim.features.loop as loop

    seen: list[bool] = []
    real_job = loop.Job

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(args[7])  # the job's channels_last
        return real_job(*args, **kwargs)

    monkeypatch.setattr(loop, "Job", spy)
    coll = _collection(8)
    default = _extract(coll).features
    contiguous = _extract(coll, channels_last=False).features
    assert seen == [True, False]
    np.testing.assert_allclose(default, contiguous, rtol=0, atol=1e-4)
    np.testing.assert_allclose(default, _reference(coll), rtol=0, atol=1e-4)
    seen.clear()
    from torchvision.transforms.functional import pil_to_tensor

    data = [(pil_to_tensor(coll.load_image(i)).float() / 255, 0) for i in range(4)]
    _extract(data, lambda x: x.flatten(1)[:, :5])  # a callable (a model in training): as is
    assert seen == [False]


def test_num_workers_auto_decodes_in_process_on_a_small_cpu_only(monkeypatch) -> None:  # noqa: ANN001
    """``num_workers="auto"`` (the default): no loader processes on a CPU with at most 2 usable
    cores, 2 on more cores or a GPU; a count is taken as given; anything else is refused."""
    import semsim.features.loop as loop

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    for cores, want_cpu in ((1, 0), (2, 0), (3, 2), (16, 2)):
        monkeypatch.setattr(loop, "usable_cpus", lambda cores=cores: cores)
        assert loop.resolve_workers("auto", cpu) == want_cpu, cores
        assert loop.resolve_workers("AUTO", gpu) == 2, cores
        assert loop.resolve_workers(3, cpu) == 3 and loop.resolve_workers("0", gpu) == 0
    for bad in (-1, "two", True, "1.5"):
        with pytest.raises(ValueError, match="num_workers"):
            loop.resolve_workers(bad, cpu)
    # the loader extract_features builds gets the resolved count; the features do not change
    counts: list[int] = []
    real_loader = loop.DataLoader

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        counts.append(kwargs["num_workers"])
        return real_loader(*args, **kwargs)

    monkeypatch.setattr(loop, "DataLoader", spy)
    coll = _collection(6)
    monkeypatch.setattr(loop, "usable_cpus", lambda: 2)
    inline = _extract(coll, num_workers="auto").features
    monkeypatch.setattr(loop, "usable_cpus", lambda: 8)
    workers = _extract(coll, num_workers="auto").features
    assert counts == [0, 2]
    np.testing.assert_array_equal(inline, workers)
