"""Concept logits: the encoder's own classification head, extracted and cached with the features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semsim.data.collection import ArrayCollection
from semsim.encoders import Encoder, EncoderSpec
from semsim.encoders.weights import packaged_weights_path
from semsim.features import extract_features

torch.set_num_threads(2)


def _collection(n: int = 5, size: int = 40, seed: int = 0) -> ArrayCollection:
    images = np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return ArrayCollection(images, np.arange(n) % 2, ["x", "y"], "rand")


@pytest.fixture(scope="module")
def effnet() -> Encoder:
    return EncoderSpec("tf_efficientnet_lite0", image_size=96).build()


def test_effnet_concepts_are_the_packaged_imagenet_head_logits(effnet: Encoder) -> None:
    """Concepts equal the package's own 1000-way classifier on the features, and timm's full model."""
    import timm

    col = _collection()
    out = extract_features(col, effnet, batch_size=2, num_workers=0, device="cpu", progress=False)
    assert out.concepts is not None and out.concepts.shape == (5, 1000)
    assert out.concepts.dtype == np.float32
    raw = torch.load(packaged_weights_path("tf_efficientnet_lite0"), weights_only=True)
    w, b = raw["_fc.weight"].double().numpy(), raw["_fc.bias"].double().numpy()
    expected = out.features.astype(np.float64) @ w.T + b  # independent: the package's own head
    np.testing.assert_allclose(out.concepts, expected, rtol=1e-5, atol=1e-5)
    # and the whole timm classifier (with its own head) on the same inputs
    full = timm.create_model("tf_efficientnet_lite0", num_classes=1000).eval()
    full.load_state_dict(effnet.net.state_dict())
    x = torch.stack([effnet.transform(Image.fromarray(col.images[i])) for i in range(5)])
    with torch.inference_mode():
        np.testing.assert_allclose(out.concepts, full(x).numpy(), rtol=1e-5, atol=1e-5)
    names = out.concept_names
    assert names is not None and len(names) == 1000
    assert names[0].startswith("tench") and names[281].startswith("tabby")


def test_concepts_round_trip_through_the_cache(tmp_path: Path) -> None:
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
    col = _collection(6)
    kw = {"batch_size": 4, "num_workers": 0, "device": "cpu", "progress": False}
    first = extract_features(col, spec, cache_dir=tmp_path, **kw)
    assert first.concepts is not None and first.concepts.shape == (6, 1000)
    assert first.provenance["encoder"]["output"] == "pre_logits+logits:imagenet-1k"
    again = extract_features(col, spec, cache_dir=tmp_path, **kw)
    assert again.from_cache
    np.testing.assert_array_equal(again.concepts, first.concepts)
    np.testing.assert_array_equal(again.features, first.features)
    assert again.concept_names == first.concept_names
    meta = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert set(meta["arrays"]) == {"features", "concepts"}
    # a tampered concept array is caught by its checksum
    npz = next(tmp_path.glob("*.npz"))
    np.savez(npz, features=first.features, concepts=first.concepts + 1)
    redone = extract_features(col, spec, cache_dir=tmp_path, **kw)
    assert not redone.from_cache and np.array_equal(redone.concepts, first.concepts)


def test_headless_encoders_give_no_concepts(tmp_path: Path) -> None:
    spec = EncoderSpec("vit_small_patch14_dinov2.lvd142m", pretrained=False, image_size=28)
    assert spec.concepts() is None and spec.provenance()["output"] == "pre_logits"
    out = extract_features(
        _collection(3), spec, num_workers=0, device="cpu", progress=False, cache_dir=tmp_path
    )
    assert out.concepts is None and out.concept_names is None
    again = extract_features(
        _collection(3), spec, num_workers=0, device="cpu", progress=False, cache_dir=tmp_path
    )
    assert again.from_cache and again.concepts is None
    # an in-memory backbone (e.g. a trained model) has no head: no concepts
    bare = Encoder(spec.build().net, "mine", spec.data_config)
    assert bare.encode(torch.zeros(1, 3, 28, 28))[1] is None


def test_checkpoint_without_a_head_gives_no_concepts(tmp_path: Path) -> None:
    import timm

    path = tmp_path / "backbone.pth"
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), path)
    enc = EncoderSpec("test_efficientnet", checkpoint=str(path), image_size=32).build()
    assert enc.concept_names is None
    with_head = tmp_path / "full.pth"
    torch.save(timm.create_model("test_efficientnet").state_dict(), with_head)
    enc = EncoderSpec("test_efficientnet", checkpoint=str(with_head), image_size=32).build()
    assert enc.concept_names is not None and len(enc.concept_names) == 1000
