"""Adding an encoder is one config file, or one registry entry for a network timm lacks."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from torch import nn

from semsim.analysis import analyse
from semsim.compare import compare
from semsim.data.collection import ArrayCollection
from semsim.encoders import (
    NETWORKS,
    Encoder,
    EncoderSpec,
    Network,
    default_key,
    known_keys,
    network_of,
)
from semsim.features import extract_features

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(2)


def test_known_keys_are_the_key_fields_of_the_encoder_configs() -> None:
    expected = {}
    for path in sorted((ROOT / "conf" / "encoder").glob("*.yaml")):
        node = yaml.safe_load(path.read_text())
        expected[node["name"]] = node["key"]
    assert known_keys() == expected and len(expected) >= 6
    for name, key in expected.items():
        assert default_key(name) == key
        assert EncoderSpec(name, pretrained=False).key == key
    assert default_key("convnext_tiny.fb_in1k") == "convnext_tiny_fb_in1k"


def test_a_new_encoder_is_one_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "encoder" / "tiny.yaml").write_text(
        "_target_: semsim.encoders.EncoderSpec\nname: test_efficientnet\npretrained: false\n"
        "checkpoint: null\nimage_size: 32\nkey: tiny\n"
    )
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(
            "compare",
            overrides=[
                "encoder=tiny", "a.n_per_class=6", "b=synthetic", "b.n_per_class=6", "b.seed=1",
                "scores=[prototype_cosine,fd]", "n_bootstrap=0", "noise_floor=false",
                "class_matrices=false", "progress=false", "num_workers=0",
                f"out_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}",
            ],
        )  # fmt: skip
    report = compare(cfg)
    assert list(report.scores) == ["prototype_cosine", "fd_tiny"]
    assert report.encoder["key"] == "tiny" and report.encoder["name"] == "test_efficientnet"


class ToyNet(nn.Module):
    """A network timm does not have: mean colour + a linear map, with a 3-way head."""

    def __init__(self) -> None:
        super().__init__()
        self.num_features = 4
        self.proj = nn.Linear(3, 4)
        self.fc = nn.Linear(4, 3)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        f = self.proj(x.mean((2, 3)))
        return f if pre_logits else self.fc(f)

    def get_classifier(self) -> nn.Module:
        return self.fc


def _toy_create(pretrained, checkpoint, num_classes, drop_rate, image_size):  # noqa: ANN001, ANN202, ARG001
    net = ToyNet()
    if checkpoint:
        net.load_state_dict(torch.load(checkpoint, weights_only=True))
    return net, True


def test_a_registered_network_is_one_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "toy.pth"
    torch.save(ToyNet().state_dict(), weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    entry = Network(
        name="toy_net",
        module_type=ToyNet,
        create=_toy_create,
        data_config={
            "input_size": (3, 8, 8),
            "interpolation": "bilinear",
            "mean": (0.0,) * 3,
            "std": (1.0,) * 3,
            "crop_pct": 1.0,
            "crop_mode": "center",
        },  # fmt: skip
        preprocess=nn.Identity,
        transform=lambda: lambda im: torch.from_numpy(np.asarray(im, np.float32)).permute(2, 0, 1),
        pretrained_weights=lambda: weights,
        output="toy_4",
        code={"toy": 1},
        concepts=("toy-3", ["r", "g", "b"]),
        official_fd_name="toy_fid",
        official_sha256_prefix=digest[:8],
    )
    monkeypatch.setitem(NETWORKS, "toy_net", entry)
    spec = EncoderSpec("toy_net")
    prov = spec.provenance()
    assert prov["fd_name"] == "toy_fid" and prov["output"] == "toy_4+logits:toy-3"
    assert prov["weights"] == "sha256:" + digest and spec.key == "toy_net"
    images = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8)
    col = ArrayCollection(images, np.arange(8) % 2, ["p", "q"], "toy")
    kw = {"num_workers": 0, "device": "cpu", "progress": False}
    out = extract_features(col, spec, cache_dir=tmp_path / "cache", **kw)
    means = images.reshape(8, -1, 3).mean(1)  # the transform keeps 0..255 values
    net = ToyNet()
    net.load_state_dict(torch.load(weights, weights_only=True))
    w, b = net.proj.weight.detach().double().numpy(), net.proj.bias.detach().double().numpy()
    np.testing.assert_allclose(out.features, means @ w.T + b, rtol=1e-5, atol=1e-4)
    assert out.concept_names == ["r", "g", "b"] and out.concepts.shape == (8, 3)
    report = analyse(out, out, encoder=prov, scores=["fd"], class_matrices=False, n_bootstrap=0,
                     noise_floor=False)  # fmt: skip
    assert "toy_fid" in report.scores
    # other weights of the same network: the distance is fd_<key>, never the official name
    other = tmp_path / "other.pth"
    torch.save(ToyNet().state_dict(), other)
    assert EncoderSpec("toy_net", checkpoint=str(other)).provenance()["fd_name"] == "fd_toy_net"
    # an in-memory instance is recognised by its class (e.g. a trained backbone)
    assert network_of(net) is entry
    assert Encoder.from_backbone(net, "mine", {}).provenance()["output"] == "toy_4"
