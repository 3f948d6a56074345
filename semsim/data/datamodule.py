"""LightningDataModule over any image source, with transforms taken from the encoder."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from semsim.data.collection import CollectionError, ImageCollection, Subset
from semsim.data.transforms import (
    AUGMENTS,
    DEFAULT_DATA_CONFIG,
    BasicAugment,
    eval_transform,
    train_transform,
)

# re-exported: callers import the transforms from here too
__all__ = [
    "AUGMENTS",
    "DEFAULT_DATA_CONFIG",
    "BasicAugment",
    "ImageDataModule",
    "build_datamodule",
    "datamodule_defaults",
    "eval_transform",
    "stratified_split",
    "train_transform",
]


def stratified_split(
    labels: np.ndarray | None, n: int, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Carve disjoint parts of ``range(n)``, each holding ``fraction`` of every class.

    Returns ``[rest, part_1, part_2, ...]`` as sorted index arrays; ``rest`` keeps at least one
    image of every class. The result is a pure function of ``(labels, fractions, seed)``.
    """
    if any(f < 0 for f in fractions) or sum(fractions) >= 1:
        raise ValueError(f"split fractions must be >= 0 and sum to < 1, got {list(fractions)}")
    groups = (
        [np.arange(n)]
        if labels is None
        else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    )
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for members in groups:
        members = rng.permutation(members)
        start = 0
        for k, fraction in enumerate(fractions, start=1):
            take = int(round(fraction * len(members)))
            take = min(take, len(members) - start - 1)  # leave at least one for training
            take = max(take, 0)
            parts[k].append(members[start : start + take])
            start += take
        parts[0].append(members[start:])
    return [np.sort(np.concatenate(p)) if p else np.zeros(0, dtype=np.int64) for p in parts]


class _Relabelled(Subset):
    """A subset whose labels are re-expressed in another collection's class list."""

    def __init__(self, parent: ImageCollection, class_names: list[str]) -> None:
        super().__init__(parent, np.arange(len(parent)), name=parent.name)
        assert parent.labels is not None and parent.class_names is not None
        index = {c: i for i, c in enumerate(class_names)}
        missing = [c for c in parent.class_names if c not in index]
        if missing:
            raise CollectionError(
                f"{parent.name}: classes {missing} do not occur in the training split "
                f"(training classes: {', '.join(class_names)})"
            )
        remap = np.array([index[c] for c in parent.class_names], dtype=np.int64)
        self.labels = remap[parent.labels]
        self.class_names = list(class_names)


class ImageDataModule(L.LightningDataModule):
    """Train/val/test loaders over an image source.

    Args:
        collection: called as ``collection(split=...)``; returns an :class:`ImageCollection`
            (e.g. ``functools.partial(sources.cifar10, root=...)``).
        train_split: split to train on.
        eval_split: split used as the test set. When equal to ``train_split``, val and test
            are carved disjointly from it; otherwise only val is carved from train.
        val_fraction: fraction of each training class moved to val (unless ``val_split``).
        test_fraction: fraction carved for test when ``eval_split == train_split``.
        batch_size: per-device batch size.
        num_workers: DataLoader worker processes.
        augment: ``none`` | ``basic`` | ``randaug`` for the training transform.
        seed: seeds the carving and the shuffling.
        pin_memory: DataLoader ``pin_memory``.
        val_split: a split of the source to use as val instead of carving it.
    """

    def __init__(
        self,
        collection: Callable[..., ImageCollection],
        train_split: str | None = "train",
        eval_split: str | None = "test",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 2,
        augment: str = "basic",
        seed: int = 0,
        pin_memory: bool = False,
        val_split: str | None = None,
    ) -> None:
        super().__init__()
        if augment not in AUGMENTS:
            raise ValueError(
                f"data.datamodule.augment must be one of {list(AUGMENTS)}, got {augment!r}"
            )
        if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1:
            raise ValueError(
                f"data.datamodule: val_fraction ({val_fraction}) and test_fraction "
                f"({test_fraction}) must lie in [0, 1)"
            )
        if batch_size < 1:
            raise ValueError(f"data.datamodule.batch_size must be positive, got {batch_size}")
        self.collection = collection
        self.train_split = train_split
        self.eval_split = eval_split
        self.val_split = val_split
        self.val_fraction = float(val_fraction)
        self.test_fraction = float(test_fraction)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.augment = augment
        self.seed = int(seed)
        self.pin_memory = bool(pin_memory)
        self.data_config: dict[str, Any] = dict(DEFAULT_DATA_CONFIG)
        self.train_transform = train_transform(self.data_config, augment)
        self.eval_transform = eval_transform(self.data_config)
        self._loaded: dict[str | None, ImageCollection] = {}
        self._parts: tuple[ImageCollection, ImageCollection, ImageCollection] | None = None
        self.class_names: list[str] | None = None
        self.num_classes: int = 0

    # --- configuration ---------------------------------------------------------------
    def set_data_config(self, cfg: Mapping[str, Any]) -> None:
        """Take size, interpolation, mean, std and crop_pct from the encoder (timm's
        ``resolve_data_config`` dict); missing keys keep their defaults."""
        merged = dict(DEFAULT_DATA_CONFIG)
        merged.update({k: v for k, v in dict(cfg).items() if v is not None})
        self.data_config = merged
        self.train_transform = train_transform(merged, self.augment)
        self.eval_transform = eval_transform(merged)

    # --- loading -----------------------------------------------------------------------
    def _load(self, split: str | None) -> ImageCollection:
        if split not in self._loaded:
            self._loaded[split] = self.collection(split=split)
        return self._loaded[split]

    def prepare_data(self) -> None:
        """Load (and, for sources that download, fetch) the splits once, on one process."""
        self._load(self.train_split)
        if self.eval_split != self.train_split:
            self._load(self.eval_split)

    def setup(self, stage: str | None = None) -> None:
        if self._parts is not None:
            return
        train_full = self._load(self.train_split)
        if train_full.labels is None or train_full.class_names is None:
            raise CollectionError(
                f"{train_full.name}: the training split has no classes; training needs labels"
            )
        if len(train_full) == 0:
            raise CollectionError(f"{train_full.name}: the training split is empty")
        self.class_names = list(train_full.class_names)
        self.num_classes = len(self.class_names)
        same = self.eval_split == self.train_split
        fractions = [0.0 if self.val_split is not None else self.val_fraction]
        if same:
            fractions.append(self.test_fraction)
        parts = stratified_split(train_full.labels, len(train_full), fractions, self.seed)
        base = train_full.name
        train = Subset(train_full, parts[0], name=f"{base}:train")
        if self.val_split is not None:
            val = self._matching(self._load(self.val_split))
        else:
            val = Subset(train_full, parts[1], name=f"{base}:val")
        test = (
            Subset(train_full, parts[2], name=f"{base}:test")
            if same
            else self._matching(self._load(self.eval_split))
        )
        self._parts = (train, val, test)

    def _matching(self, other: ImageCollection) -> ImageCollection:
        if other.labels is None or other.class_names is None:
            return other
        if other.class_names == self.class_names:
            return other
        assert self.class_names is not None
        return _Relabelled(other, self.class_names)

    def _require(self) -> tuple[ImageCollection, ImageCollection, ImageCollection]:
        if self._parts is None:
            self.setup()
        assert self._parts is not None
        return self._parts

    @property
    def train_set(self) -> ImageCollection:
        return self._require()[0].with_transform(self.train_transform)

    @property
    def val_set(self) -> ImageCollection:
        return self._require()[1].with_transform(self.eval_transform)

    @property
    def test_set(self) -> ImageCollection:
        return self._require()[2].with_transform(self.eval_transform)

    # --- loaders -----------------------------------------------------------------------
    def _loader(self, dataset: ImageCollection, train: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if train else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            drop_last=train and len(dataset) > self.batch_size,  # no size-1 batch for BatchNorm
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=generator,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)

    def describe(self) -> dict[str, Any]:
        """Sizes and provenance of the three parts (for logs and reports)."""
        train, val, test = self._require()
        return {
            "train": train.describe(),
            "val": val.describe(),
            "test": test.describe(),
            "data_config": {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.data_config.items()
            },
            "augment": self.augment,
        }


#: ImageDataModule options a ``data.datamodule`` config does not carry (``seed`` follows the
#: collection's ``seed`` unless set)
_NOT_CONFIGURED = ("self", "collection", "eval_split", "seed")


def datamodule_defaults() -> dict[str, Any]:
    """``{option: default}`` of :class:`ImageDataModule` that a ``data.datamodule`` config holds.

    ``conf/data/datamodule/default.yaml`` writes them once for every ``conf/data/*.yaml``
    (which override only where they differ); a test keeps the two equal.
    """
    return {
        name: p.default
        for name, p in inspect.signature(ImageDataModule.__init__).parameters.items()
        if name not in _NOT_CONFIGURED
    }


def build_datamodule(cfg_data: Any) -> ImageDataModule:
    """Build an :class:`ImageDataModule` from a ``data`` config.

    ``cfg_data`` holds a collection config (``_target_`` plus source options, ``split`` being
    the evaluation split) and a ``datamodule`` sub-key with :class:`ImageDataModule` options.
    The datamodule's ``seed`` defaults to the collection's ``seed``.
    """
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg_data, DictConfig):
        cfg: dict[str, Any] = OmegaConf.to_container(cfg_data, resolve=True)  # type: ignore[assignment]
    else:
        cfg = dict(cfg_data)
    options = dict(cfg.pop("datamodule", None) or {})
    if "_target_" not in cfg:
        raise ValueError("data: the config has no _target_ (pick a source, e.g. data=synthetic)")
    eval_split = cfg.pop("split", "test")
    known = [
        p
        for p in inspect.signature(ImageDataModule.__init__).parameters
        if p not in ("self", "collection", "eval_split")
    ]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"data.datamodule: unknown option(s) {unknown}; known: {', '.join(known)}")
    options.setdefault("seed", cfg.get("seed", 0))
    factory = instantiate(cfg, _partial_=True, _convert_="all")
    return ImageDataModule(factory, eval_split=eval_split, **options)
