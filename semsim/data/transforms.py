"""Image transforms from an encoder's data config (timm's ``resolve_data_config`` dict)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_DATA_CONFIG: dict[str, Any] = {
    "input_size": (3, 32, 32),
    "interpolation": "bilinear",
    "mean": IMAGENET_MEAN,
    "std": IMAGENET_STD,
    "crop_pct": 1.0,
}
AUGMENTS = ("none", "basic", "randaug")
LOW_RES = 64  # images whose shorter side is at most this get CIFAR-style augmentation

_INTERPOLATION = {
    "nearest": InterpolationMode.NEAREST,
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "lanczos": InterpolationMode.LANCZOS,
    "box": InterpolationMode.BOX,
    "hamming": InterpolationMode.HAMMING,
}


def _interpolation(name: str | None) -> InterpolationMode:
    return _INTERPOLATION.get(str(name or "bilinear").lower(), InterpolationMode.BILINEAR)


def _size(data_config: Mapping[str, Any]) -> tuple[int, int]:
    input_size = tuple(data_config.get("input_size", (3, 32, 32)))
    if len(input_size) != 3:
        raise ValueError(f"data config input_size must be (C, H, W), got {input_size}")
    return int(input_size[1]), int(input_size[2])


class BasicAugment:
    """Geometry augmentation to ``size`` that suits the resolution of each image.

    Low-resolution images (shorter side at most ``LOW_RES``, e.g. CIFAR's 32x32) are resized to
    ``size`` and get the CIFAR recipe: a random crop after reflect-padding by 1/8 of the size,
    and a horizontal flip. Larger images get ``RandomResizedCrop(scale=(0.25, 1))`` and a flip,
    which at 32 px would cut away most of the object.
    """

    def __init__(self, size: tuple[int, int], interpolation: InterpolationMode) -> None:
        pad = max(1, min(size) // 8)
        self.low_res = T.Compose(
            [
                T.Resize(size, interpolation=interpolation, antialias=True),
                T.RandomCrop(size, padding=pad, padding_mode="reflect"),
                T.RandomHorizontalFlip(),
            ]
        )
        self.high_res = T.Compose(
            [
                T.RandomResizedCrop(size, scale=(0.25, 1.0), interpolation=interpolation),
                T.RandomHorizontalFlip(),
            ]
        )

    def __call__(self, image: Image.Image) -> Image.Image:
        return (self.low_res if min(image.size) <= LOW_RES else self.high_res)(image)


def eval_transform(data_config: Mapping[str, Any]) -> T.Compose:
    """The deterministic transform, timm's eval recipe: resize to ``size / crop_pct`` (shorter
    side, keeping the aspect ratio; both sides with ``crop_mode="squash"`` or a non-square
    input size), centre crop to the input size, normalise."""
    size = _size(data_config)
    crop_pct = float(data_config.get("crop_pct") or 1.0)
    interpolation = _interpolation(data_config.get("interpolation"))
    scale = (math.floor(size[0] / crop_pct), math.floor(size[1] / crop_pct))
    squash = data_config.get("crop_mode") == "squash" or scale[0] != scale[1]
    return T.Compose(
        [
            T.Resize(scale if squash else scale[0], interpolation=interpolation, antialias=True),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(*_mean_std(data_config)),
        ]
    )


def _mean_std(data_config: Mapping[str, Any]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    mean = tuple(float(v) for v in data_config.get("mean", IMAGENET_MEAN))
    std = tuple(float(v) for v in data_config.get("std", IMAGENET_STD))
    return mean, std


def train_transform(data_config: Mapping[str, Any], augment: str = "basic") -> T.Compose:
    """Training transform: ``none`` is the eval transform; ``basic`` adds crop and flip
    (see :class:`BasicAugment`); ``randaug`` adds RandAugment(2, 9) before them."""
    if augment not in AUGMENTS:
        raise ValueError(f"augment must be one of {list(AUGMENTS)}, got {augment!r}")
    if augment == "none":
        return eval_transform(data_config)
    size = _size(data_config)
    interpolation = _interpolation(data_config.get("interpolation"))
    steps: list[Callable[..., Any]] = []
    if augment == "randaug":
        steps.append(T.RandAugment(num_ops=2, magnitude=9))
    steps += [
        BasicAugment(size, interpolation),
        T.ToTensor(),
        T.Normalize(*_mean_std(data_config)),
    ]
    return T.Compose(steps)
