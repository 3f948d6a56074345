"""Frozen feature extractors: ``EncoderSpec`` (what to build, and its provenance) and ``Encoder``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semsim.encoders import timm_facts
from semsim.encoders.backbone import (
    _pretrained_cfg,
    build_backbone,
    check_model_name,
    resolve_data_config,
)
from semsim.encoders.registry import default_key, network, network_of
from semsim.encoders.weights import (
    EncoderError,
    file_sha256,
    packaged_weights_path,
    state_dict_sha256,
)
from semsim.metrics.frechet import fd_name

RANDOM_INIT_SEED = 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 10)
    return value


def concept_vocabulary(name: str) -> tuple[str, list[str]] | None:
    """``(tag, class names)`` of the classification head ``name``'s weights come with, or None.

    timm models: the ImageNet subset timm infers from the pretrained config's class count
    (``imagenet-1k``...; names from ``timm.data.ImageNetInfo``, offline); headless weights (DINOv2,
    CLIP's projection) have none. A registered network: its entry's ``concepts``.
    """
    if (net := network(name)) is not None:
        return net.concepts
    from timm.data import ImageNetInfo, infer_imagenet_subset

    cfg = _pretrained_cfg(name)
    subset = infer_imagenet_subset(cfg)
    if subset is None:
        return None
    info = ImageNetInfo(subset)
    if info.num_classes() != int(cfg.get("num_classes") or 0):
        return None
    return subset, [info.index_to_description(i) for i in range(info.num_classes())]


class Encoder(nn.Module):
    """A frozen feature extractor: images ``(B, 3, H, W)`` -> pooled pre-logit features ``(B, D)``.

    Always in eval mode (``train()`` is overridden) with gradients off. :meth:`encode` also gives
    the logits of the model's own classification head (``concepts``) when it has one.

    Attributes:
        key: short name used in score names (``fd_<key>``).
        dim: feature dimension ``D``.
        data_config: timm-style preprocessing dict (``input_size``, ``interpolation``, ``mean``,
            ``std``, ``crop_pct``, ``crop_mode``).
        transform: PIL image -> input tensor, the model's own eval preprocessing.
        spec: the :class:`EncoderSpec` it was built from, or None for a wrapped in-memory model.
        concept_names: names of the head's classes (``C``), or None: no head, no concepts.
    """

    def __init__(
        self,
        net: nn.Module,
        key: str,
        data_config: dict[str, Any],
        preprocess: nn.Module | None = None,
        transform: Callable[[Any], torch.Tensor] | None = None,
        spec: EncoderSpec | None = None,
        concept_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.preprocess = preprocess if preprocess is not None else nn.Identity()
        self.key = key
        self.data_config = dict(data_config)
        if transform is None:
            from timm.data import create_transform

            from semsim.data.transforms import fuse_normalize

            transform = fuse_normalize(create_transform(**self.data_config))
        self.transform = transform
        self.spec = spec
        self.concept_names = list(concept_names) if concept_names else None
        self.dim = int(getattr(net, "head_hidden_size", None) or net.num_features)
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> Encoder:  # noqa: ARG002 - frozen: always eval
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.net.forward_features(self.preprocess(x))
        return self.net.forward_head(feats, pre_logits=True)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, D)`` pooled pre-logit features and ``(B, C)`` head logits (None: no head)."""
        feats = self(x)
        if self.concept_names is None:
            return feats, None
        return feats, self.net.get_classifier()(feats)

    def provenance(self) -> dict[str, Any]:
        """What determines the features: the spec's provenance, or a digest of the weights."""
        if self.spec is not None:
            return self.spec.provenance()
        registered = network_of(self.net)
        return {
            "name": registered.name if registered else type(self.net).__name__,
            "key": self.key,
            "weights": "state-sha256:" + state_dict_sha256(self.net.state_dict()),
            "preprocessing": registered.preprocessing
            if registered
            else _jsonable(self.data_config),
            "output": registered.output if registered else "pre_logits",
            "fd_name": fd_name(self.key),
        }

    @classmethod
    def from_backbone(cls, net: nn.Module, key: str, data_config: dict[str, Any]) -> Encoder:
        """Wrap an in-memory backbone (e.g. a trained ``TimmClassifier.backbone``).

        A registered network (the FID InceptionV3) gets its own preprocessing and transform;
        ``data_config`` is used for timm models.
        """
        if (registered := network_of(net)) is not None:
            return cls(
                net,
                key,
                registered.data_config,
                registered.preprocess(),
                registered.transform(),
            )
        return cls(net, key, data_config)


@dataclass(frozen=True)
class EncoderSpec:
    """What to build; Hydra target of ``conf/encoder/*.yaml``.

    Args:
        name: timm model name (with an optional pretrained tag) or a registered network
            (:data:`semsim.encoders.registry.NETWORKS`, e.g. ``"inception_fid"``).
        pretrained: load pretrained weights (packaged for ``tf_efficientnet_lite0``, the registry
            entry's file for a registered network, the hub otherwise). False: seeded random init.
        checkpoint: local weights file, overrides ``pretrained``: a state dict
            (``.pth``/``.safetensors``) or a ``semsim.train`` Lightning ``.ckpt``.
        image_size: input resolution (default: the model's own).
        key: short name used in score names; default: the ``key:`` of the ``conf/encoder/*.yaml``
            naming this model, else the sanitised model name.
        crop_pct: share of the resized image's side kept by the centre crop (default: the
            model's own, 0.875 for most timm models; 1.0 keeps the whole image, which matters for
            small images whose border holds content).
    """

    name: str = "tf_efficientnet_lite0"
    pretrained: bool = True
    checkpoint: str | None = None
    image_size: int | None = None
    key: str | None = None
    crop_pct: float | None = None

    def __post_init__(self) -> None:
        check_model_name(self.name)
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", str(Path(str(self.checkpoint)).expanduser()))
        if self.image_size is not None:
            object.__setattr__(self, "image_size", int(self.image_size))
        if not self.key:
            object.__setattr__(self, "key", default_key(self.name))
        if self.crop_pct is not None:
            crop = float(self.crop_pct)
            if not 0.0 < crop <= 1.0:
                raise EncoderError(f"encoder.crop_pct must be in (0, 1], got {self.crop_pct}")
            if "crop_pct" not in resolve_data_config(self.name, self.image_size):
                raise EncoderError(f"encoder.crop_pct: {self.name} has a fixed preprocessing")
            object.__setattr__(self, "crop_pct", crop)

    @property
    def data_config(self) -> dict[str, Any]:
        cfg = resolve_data_config(self.name, self.image_size)
        if self.crop_pct is not None:
            cfg["crop_pct"] = self.crop_pct
        return cfg

    def weights_id(self) -> str:
        """Identity of the weights without building the model (content hash where there's a file).

        ``pretrained`` FID weights are located (downloaded when online) to hash them.
        """
        if self.checkpoint:
            if not Path(self.checkpoint).is_file():
                raise EncoderError(f"encoder.checkpoint: no such file: {self.checkpoint}")
            return "sha256:" + file_sha256(self.checkpoint)
        if not self.pretrained:
            return f"random-init:seed={RANDOM_INIT_SEED}"
        if (net := network(self.name)) is not None:
            return "sha256:" + file_sha256(net.pretrained_weights())
        packaged = packaged_weights_path(self.name)
        if packaged is not None:
            return "sha256:" + file_sha256(packaged)
        cfg = _pretrained_cfg(self.name)
        return "hub:" + str(cfg.get("hf_hub_id") or cfg.get("url") or self.name)

    def transform(self) -> Callable[[Any], torch.Tensor]:
        """The encoder's own PIL -> input tensor transform, without building the network (what
        :meth:`build` gives the encoder)."""
        if (registered := network(self.name)) is not None:
            return registered.transform()
        from timm.data import create_transform

        from semsim.data.transforms import fuse_normalize

        return fuse_normalize(create_transform(**self.data_config))

    def concepts(self) -> tuple[str, list[str]] | None:
        """The head's ``(tag, class names)`` (see :func:`concept_vocabulary`), without building.

        A ``checkpoint`` whose file turns out to hold no fitting head gives no concepts at build.
        """
        return concept_vocabulary(self.name)

    def output_dims(self) -> tuple[int, int]:
        """``(D, C)``: feature and concept dimensions, without weights (built on the meta device)."""
        facts = timm_facts.shipped(self.name)
        if facts is not None and facts["dims"] is not None:  # the shipped table: no timm import
            return facts["dims"]
        concepts = self.concepts()
        c = len(concepts[1]) if concepts is not None else 0
        if (net := network(self.name)) is not None:
            return net.dim, c
        from semsim.encoders.backbone import feature_dim

        return feature_dim(self.name, self.image_size), c

    def output_tag(self) -> str:
        """What an entry holds: the feature kind, plus ``+logits:<tag>`` with concept logits."""
        net = network(self.name)
        base = net.output if net is not None else "pre_logits"
        facts = timm_facts.shipped(self.name) if net is None else None
        if facts is not None:  # the shipped table: no timm import
            tag = facts["concept_tag"]
        else:
            concepts = self.concepts()
            tag = None if concepts is None else concepts[0]
        return base if tag is None else f"{base}+logits:{tag}"

    def provenance(self) -> dict[str, Any]:
        """Everything that determines the features, as JSON-able data, without building."""
        net = network(self.name)
        prep = net.preprocessing if net is not None else _jsonable(self.data_config)
        code = (
            net.code
            if net is not None
            else {
                "timm": timm_facts.timm_version(),
                "input": 2,  # 2: ToTensor + Normalize fused (semsim.data.transforms.ToNormalizedTensor)
            }
        )
        weights = self.weights_id()
        official = net.fd_name(weights) if net is not None else None
        return {
            "name": self.name,
            "key": self.key,
            "pretrained": self.pretrained,
            "checkpoint": self.checkpoint,
            "image_size": self.image_size,
            "weights": weights,
            "preprocessing": prep,
            "output": self.output_tag(),
            "code": code,
            "fd_name": fd_name(self.key, official),
        }

    def build(self) -> Encoder:
        """Build the frozen encoder (random init is seeded, so it is reproducible)."""
        concepts = self.concepts()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            net, head_loaded = build_backbone(
                self.name,
                pretrained=self.pretrained,
                checkpoint=self.checkpoint,
                image_size=self.image_size,
                num_classes=None if concepts is not None else 0,
            )
        names = concepts[1] if concepts is not None and head_loaded else None
        if (registered := network(self.name)) is not None:
            return Encoder(
                net,
                self.key,
                registered.data_config,
                preprocess=registered.preprocess(),
                transform=self.transform(),
                spec=self,
                concept_names=names,
            )
        return Encoder(
            net, self.key, self.data_config, transform=self.transform(), spec=self,
            concept_names=names,
        )  # fmt: skip
