"""Encoders: packaged EfficientNet-Lite0 weights, weight sources, safe loading, FID InceptionV3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from semsim.encoders import (
    Encoder,
    EncoderError,
    EncoderSpec,
    InceptionV3FID,
    WeightsUnavailableError,
    create_backbone,
    resize_bilinear_tf1,
)
from semsim.encoders.weights import PACKAGED_WEIGHTS, packaged_weights_path, read_checkpoint

torch.set_num_threads(2)


def _images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# --- the embedded default: tf_efficientnet_lite0 with the packaged ImageNet weights ------------


@pytest.fixture(scope="module")
def effnet() -> Encoder:
    return EncoderSpec("tf_efficientnet_lite0").build()


def test_effnet_lite0_packaged_weights_classify_real_photos(effnet: Encoder) -> None:
    """Pre-logit features x the package's own ImageNet classifier put photos in the right class."""
    skdata = pytest.importorskip("skimage.data")
    raw = torch.load(packaged_weights_path("tf_efficientnet_lite0"), weights_only=True)
    fc_w, fc_b = raw["_fc.weight"], raw["_fc.bias"]  # the package's head, not timm's
    cats, espresso = {281, 282, 283, 284, 285}, {967, 968}  # tabby..Egyptian cat; espresso, cup
    for photo, expected in ((skdata.chelsea(), cats), (skdata.coffee(), espresso)):
        x = effnet.transform(Image.fromarray(photo))[None]
        with torch.inference_mode():
            logits = effnet(x) @ fc_w.T + fc_b
        assert int(logits.argmax()) in expected
        assert float(logits.softmax(-1)[0, sorted(expected)].sum()) > 0.5


def test_effnet_lite0_backbone_with_imagenet_head_matches_features(effnet: Encoder) -> None:
    clf = create_backbone("tf_efficientnet_lite0", pretrained=True, num_classes=1000).eval()
    raw = torch.load(packaged_weights_path("tf_efficientnet_lite0"), weights_only=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = effnet(x) @ raw["_fc.weight"].T + raw["_fc.bias"]
        torch.testing.assert_close(clf(x), expected, rtol=1e-4, atol=1e-4)
    # every packaged tensor landed somewhere in timm's model, in file order
    n_src = sum(not k.endswith("num_batches_tracked") for k in raw)
    assert n_src == 247
    assert torch.equal(clf.conv_stem.weight, raw["_conv_stem.weight"])
    assert torch.equal(clf.conv_head.weight, raw["_conv_head.weight"])


def test_effnet_lite0_preprocessing_is_tf_lite_style(effnet: Encoder) -> None:
    # TF EfficientNet-Lite trained with (x - 127) / 128 ("inception-style", for quantisation);
    # timm's mean = std = 0.5 is that up to half a grey level.
    assert effnet.data_config["mean"] == (0.5, 0.5, 0.5)
    assert effnet.data_config["std"] == (0.5, 0.5, 0.5)
    x = effnet.transform(Image.fromarray(np.full((40, 40, 3), 255, np.uint8)))
    assert x.shape == (3, 224, 224) and torch.allclose(x, torch.ones_like(x))
    assert effnet.dim == 1280 and effnet.key == "effnet_lite0"
    assert "tf_efficientnet_lite0" in PACKAGED_WEIGHTS


# --- Encoder contract --------------------------------------------------------------------------


def test_encoder_is_frozen_and_returns_pooled_pre_logits() -> None:
    enc = EncoderSpec("test_efficientnet", pretrained=False, image_size=32).build()
    enc.train()
    assert not enc.training and not enc.net.training
    assert not any(p.requires_grad for p in enc.parameters())
    x = torch.randn(3, 3, 32, 32)
    with torch.inference_mode():
        out = enc(x)
        ref = enc.net.forward_head(enc.net.forward_features(x), pre_logits=True)
    assert out.shape == (3, enc.dim) and enc.dim == enc.net.num_features
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("name", ["test_efficientnet", "test_vit", "tf_efficientnet_lite0"])
def test_data_config_without_building_equals_timm_resolution(name: str) -> None:
    from timm.data import resolve_model_data_config

    spec = EncoderSpec(name, pretrained=False)
    model = timm.create_model(name, pretrained=False)
    assert spec.data_config == resolve_model_data_config(model)


def test_image_size_override_reaches_timm_and_the_transform() -> None:
    enc = EncoderSpec("test_vit", pretrained=False, image_size=48).build()
    assert enc.data_config["input_size"] == (3, 48, 48)
    assert enc.net.patch_embed.img_size == (48, 48)  # img_size was passed to timm
    x = enc.transform(Image.fromarray(_images(1, 100)[0]))
    assert x.shape == (3, 48, 48)
    with torch.inference_mode():
        assert enc(x[None]).shape == (1, enc.dim)


def test_random_init_is_seeded_and_reproducible() -> None:
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32)
    a, b = spec.build(), spec.build()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert spec.provenance()["weights"] == "random-init:seed=0"


def test_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(EncoderError, match="not a timm model"):
        EncoderSpec("no_such_model_xyz")


def test_hub_weights_offline_raise_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    spec = EncoderSpec("test_resnet", pretrained=True)
    assert spec.provenance()["weights"] == "hub:timm/test_resnet.r160_in1k"  # no build needed
    with pytest.raises(WeightsUnavailableError) as err:
        spec.build()
    msg = str(err.value)
    assert "encoder.checkpoint=PATH" in msg and "pretrained=false" in msg and "\n" not in msg


# --- local checkpoints -------------------------------------------------------------------------


def _features(enc: Encoder, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return enc(x)


def test_local_state_dict_checkpoint_loads_and_is_hashed(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = timm.create_model("test_efficientnet", pretrained=False)  # with its 1000-class head
    path = tmp_path / "w.pth"
    torch.save(model.state_dict(), path)
    spec = EncoderSpec("test_efficientnet", checkpoint=str(path), image_size=32)
    enc = spec.build()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        expected = model.forward_head(model.eval().forward_features(x), pre_logits=True)
    torch.testing.assert_close(_features(enc, x), expected)
    import hashlib

    assert spec.provenance()["weights"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_safetensors_checkpoint(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(2)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    enc = EncoderSpec("test_resnet", checkpoint=str(tmp_path / "w.safetensors")).build()
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(_features(enc, x), model.eval()(x))


def test_lightning_checkpoint_with_omegaconf_hparams_loads_backbone(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    torch.manual_seed(3)
    backbone = timm.create_model("test_efficientnet", pretrained=False, num_classes=0)
    head = torch.nn.Linear(backbone.num_features, 4)
    sd = {f"net.backbone.{k}": v for k, v in backbone.state_dict().items()}
    sd.update({f"net.head.{k}": v for k, v in head.state_dict().items()})
    ckpt = {
        "epoch": 3,
        "state_dict": sd,
        "hyper_parameters": {"cfg": OmegaConf.create({"model": {"lr": 0.1}, "tags": ["a"]})},
        "optimizer_states": [],
    }
    path = tmp_path / "last.ckpt"
    torch.save(ckpt, path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)  # why read_checkpoint needs its allow-list
    enc = EncoderSpec("test_efficientnet", checkpoint=str(path), image_size=32).build()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(_features(enc, x), backbone.eval()(x))
    # as a training backbone with a new head
    net = create_backbone(
        "test_efficientnet", pretrained=False, checkpoint=str(path), num_classes=7
    )
    torch.testing.assert_close(net.conv_stem.weight, backbone.conv_stem.weight)
    assert net.get_classifier().out_features == 7


class _Boom:
    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (Path(_Boom.target),))


def test_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    _Boom.target = str(tmp_path / "pwned")
    path = tmp_path / "evil.ckpt"
    torch.save(
        {"state_dict": {"net.backbone.x": torch.zeros(1)}, "hyper_parameters": _Boom()}, path
    )
    with pytest.raises(EncoderError, match="could run code"):
        read_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_checkpoint_for_another_model_is_a_clear_error(tmp_path: Path) -> None:
    torch.save(timm.create_model("test_resnet", num_classes=0).state_dict(), tmp_path / "r.pth")
    with pytest.raises(EncoderError, match="does not fit"):
        EncoderSpec("test_efficientnet", checkpoint=str(tmp_path / "r.pth")).build()
    with pytest.raises(EncoderError, match="no such file"):
        EncoderSpec("test_efficientnet", checkpoint=str(tmp_path / "missing.pth")).provenance()


# --- FID InceptionV3 ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random InceptionV3 weights in torch-fidelity's format, BN statistics calibrated so that
    activations keep a realistic scale through all 94 layers."""
    torch.manual_seed(0)
    net = InceptionV3FID(num_classes=1008)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batch
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.2, 0.2)
    net.train()
    with torch.no_grad():
        net(torch.rand(2, 3, 299, 299) * 2 - 1)
    path = tmp_path_factory.mktemp("fid") / "inception-random.pth"
    torch.save(net.state_dict(), path)
    return path


def test_tf1_resize_equals_torch_fidelity_bit_for_bit() -> None:
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )

    x = torch.randint(0, 256, (2, 3, 32, 45)).float()
    for size in ((299, 299), (17, 20)):
        ours = resize_bilinear_tf1(x, size)
        ref = interpolate_bilinear_2d_like_tensorflow1x(x, size=size, align_corners=False)
        assert torch.equal(ours, ref)


def test_tf1_resize_against_float64_formula() -> None:
    """Independent check of TF1 semantics: src = dst * in/out, clamp, lerp (no half-pixel)."""
    x = torch.randint(0, 256, (1, 1, 5, 7)).double()
    out = resize_bilinear_tf1(x, (12, 9))[0, 0].numpy()
    a = x[0, 0].numpy()
    ref = np.empty((12, 9))
    for i in range(12):
        for j in range(9):
            y, xx = i * 5 / 12, j * 7 / 9
            y0, x0 = int(y), int(xx)
            y1, x1 = min(y0 + 1, 4), min(x0 + 1, 6)
            top = a[y0, x0] + (a[y0, x1] - a[y0, x0]) * (xx - x0)
            bot = a[y1, x0] + (a[y1, x1] - a[y1, x0]) * (xx - x0)
            ref[i, j] = top + (bot - top) * (y - y0)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_inception_fid_features_equal_torch_fidelity(fid_weights: Path) -> None:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    ref_net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits"], feature_extractor_weights_path=str(fid_weights)
    )
    images = _images(2, 32, seed=5)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # uint8 (B, 3, H, W)
    with torch.inference_mode():
        ref_feats, ref_logits = ref_net(x)
    assert float(ref_feats.std()) > 1e-2  # non-degenerate activations

    enc = EncoderSpec("inception_fid", checkpoint=str(fid_weights)).build()
    assert enc.dim == 2048
    # the per-image transform (DataLoader workers) gives exactly the batch resize's input
    per_image = torch.stack([enc.transform(Image.fromarray(im)) for im in images])
    assert torch.equal(enc.preprocess(per_image), enc.preprocess(x))
    with torch.inference_mode():
        feats = enc(x)  # uint8 batch, resized inside
    assert float((feats - ref_feats).abs().max()) <= 1e-4
    # and the TF classifier on top of our features gives torch-fidelity's logits
    w = torch.load(fid_weights, weights_only=True)
    logits = feats @ w["fc.weight"].T + w["fc.bias"]
    assert float((logits - ref_logits).abs().max()) <= 1e-3


def test_inception_parameter_names_match_torch_fidelity(fid_weights: Path) -> None:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    ref = FeatureExtractorInceptionV3(
        "x", ["2048"], feature_extractor_weights_path=str(fid_weights)
    )
    ours = InceptionV3FID(num_classes=1008)
    assert list(ours.state_dict()) == list(ref.state_dict())


def test_inception_official_weights_missing_offline_say_how_to_supply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMSIM_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SEMSIM_OFFLINE", "1")
    spec = EncoderSpec("inception_fid")
    for call in (spec.provenance, spec.build):
        with pytest.raises(WeightsUnavailableError) as err:
            call()
        msg = str(err.value)
        assert "pt_inception-2015-12-05-6726825d.pth" in msg and "encoder.checkpoint=PATH" in msg


def test_inception_official_weights_found_in_default_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fid_weights: Path
) -> None:
    cache = tmp_path / "w"
    cache.mkdir()
    (cache / "pt_inception-2015-12-05-6726825d.pth").write_bytes(fid_weights.read_bytes())
    monkeypatch.setenv("SEMSIM_WEIGHTS_DIR", str(cache))
    monkeypatch.setenv("SEMSIM_OFFLINE", "1")
    spec = EncoderSpec("inception_fid")
    assert (
        spec.provenance()["weights"]
        == EncoderSpec("inception_fid", checkpoint=str(fid_weights)).weights_id()
    )
    enc = spec.build()
    ref = torch.load(fid_weights, weights_only=True)
    assert torch.equal(
        enc.net.Mixed_7c.branch_pool.conv.weight, ref["Mixed_7c.branch_pool.conv.weight"]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "dim"),
    [("swin_tiny", 768), ("vit_b16", 768), ("dinov2_vits14", 384), ("clip_vit_b16", 768),
     ("effnet_lite0", 1280), ("inception_fid", 2048)],
)  # fmt: skip
def test_ready_configs_build_without_weights(config: str, dim: int) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(
        Path(__file__).resolve().parents[1] / "conf" / "encoder" / f"{config}.yaml"
    )
    cfg.pretrained = False
    spec = instantiate(cfg)
    assert isinstance(spec, EncoderSpec) and spec.key == config
    enc = spec.build()
    size = enc.data_config["input_size"][1]
    with torch.inference_mode():
        out = enc(torch.rand(1, 3, size, size) * (255 if config == "inception_fid" else 1))
    assert out.shape == (1, dim) == (1, enc.dim)


@pytest.mark.parametrize(
    ("name", "kw"),
    [("test_vit", {"pretrained": False}), ("tf_efficientnet_lite0", {"crop_pct": 1.0}),
     ("tf_efficientnet_lite0", {})],
    ids=["test_vit", "effnet_lite0 whole image", "effnet_lite0"],
)  # fmt: skip
def test_the_transform_without_building_is_timms(name: str, kw: dict) -> None:
    """The pixel pass reads the encoder's input through ``spec.transform()`` (no network built):
    timm's own eval transform of the model's resolved data config, as the built encoder uses
    (its ToTensor + Normalize fused: equal to float32 rounding, 1.2e-7 here)."""
    from timm.data import create_transform, resolve_model_data_config

    spec = EncoderSpec(name, **kw)
    cfg = resolve_model_data_config(timm.create_model(name, pretrained=False))
    cfg.update({k: v for k, v in kw.items() if k == "crop_pct"})
    img = Image.fromarray(_images(1, 37, seed=3)[0])
    want = create_transform(**cfg)(img)
    torch.testing.assert_close(spec.transform()(img), want, rtol=0, atol=5e-7)
    torch.testing.assert_close(spec.build().transform(img), spec.transform()(img), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("size", "mean", "std"),
    [
        ((224, 224), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ((31, 17), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ],
)
def test_fused_normalize_equals_torchvision(size, mean, std) -> None:  # noqa: ANN001
    """ToNormalizedTensor against torchvision's ToTensor + Normalize (float64 reference)."""
    from PIL import Image

    from semsim.data.transforms import ToNormalizedTensor

    rgb = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    got = ToNormalizedTensor(mean, std)(Image.fromarray(rgb))
    ref = (rgb.transpose(2, 0, 1) / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[
        :, None, None
    ]
    assert got.dtype == torch.float32 and got.shape == (3, *size) and got.is_contiguous()
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-6)
    # a tensor or another mode takes torchvision's route (same values)
    t = torch.from_numpy(rgb.transpose(2, 0, 1) / 255.0).float()
    np.testing.assert_allclose(ToNormalizedTensor(mean, std)(t).numpy(), ref, atol=1e-6)


def test_encoder_transform_is_timms_with_the_fused_tail() -> None:
    """The encoder's transform is timm's eval transform with ToTensor + Normalize fused: the
    same geometry, the same values to 1e-6, and the provenance says so (caches never mix)."""
    from PIL import Image
    from timm.data import create_transform

    from semsim.data.transforms import ToNormalizedTensor

    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=40)
    ours, theirs = spec.transform(), create_transform(**spec.data_config)
    assert isinstance(ours.transforms[-1], ToNormalizedTensor)
    assert [type(t) for t in ours.transforms[:-1]] == [type(t) for t in theirs.transforms[:-2]]
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8))
    np.testing.assert_allclose(ours(img).numpy(), theirs(img).numpy(), rtol=0, atol=1e-6)
    assert spec.provenance()["code"]["input"] == 2
