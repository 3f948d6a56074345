"""ImageDataModule and build_datamodule on synthetic data, composed through the real Hydra config."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from semsim.data import ImageDataModule, build_datamodule, synthetic
from semsim.data.datamodule import stratified_split

CONF = Path(__file__).resolve().parents[1] / "conf"


def _compose(tmp_path: Path, data: str, overrides: list[str]) -> OmegaConf:
    """Compose a minimal train-like root config (`seed` + `data` group) from the real groups."""
    root = tmp_path / "conf"
    root.mkdir()
    shutil.copytree(CONF / "data", root / "data")
    shutil.copytree(CONF / "collection", root / "collection")
    (root / "root.yaml").write_text(f"defaults:\n  - data: {data}\n  - _self_\nseed: 7\n")
    with initialize_config_dir(config_dir=str(root), version_base="1.3"):
        return compose("root", overrides=overrides)


def test_build_datamodule_from_composed_config(tmp_path: Path) -> None:
    cfg = _compose(
        tmp_path,
        "synthetic",
        ["data.n_per_class=20", "data.datamodule.batch_size=8", "data.classes=[circle,cross]"],
    )
    assert cfg.data.seed == 7  # interpolates the top-level seed
    dm = build_datamodule(cfg.data)
    assert dm.seed == 7 and dm.eval_split == "test" and dm.train_split == "train"
    dm.setup("fit")
    assert dm.class_names == ["circle", "cross"] and dm.num_classes == 2
    # 20 per class, 10% val each -> 2 per class; test is its own split (20 per class)
    assert len(dm.train_set) == 36 and len(dm.val_set) == 4 and len(dm.test_set) == 40
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
    assert set(y.tolist()) <= {0, 1}


def test_unknown_datamodule_option_is_named() -> None:
    cfg = OmegaConf.create(
        {"_target_": "semsim.data.sources.synthetic", "datamodule": {"batchsize": 3}}
    )
    with pytest.raises(ValueError, match="batchsize"):
        build_datamodule(cfg)


def test_same_split_carves_disjoint_stratified_val_and_test() -> None:
    def factory(split: str | None) -> object:
        return synthetic(split=split, n_classes=3, n_per_class=40)

    dm = ImageDataModule(factory, train_split="train", eval_split="train", num_workers=0, seed=3)
    dm.setup()
    train, val, test = dm._parts  # noqa: SLF001 - checking the carving itself
    idx = [set(p.indices.tolist()) for p in (train, val, test)]
    assert not (idx[0] & idx[1]) and not (idx[0] & idx[2]) and not (idx[1] & idx[2])
    assert len(idx[0] | idx[1] | idx[2]) == 120
    assert np.bincount(val.labels).tolist() == [4, 4, 4]
    assert np.bincount(test.labels).tolist() == [4, 4, 4]
    dm2 = ImageDataModule(factory, train_split="train", eval_split="train", num_workers=0, seed=3)
    dm2.setup()
    assert np.array_equal(dm2._parts[1].indices, val.indices)  # deterministic


def test_stratified_split_keeps_one_for_training() -> None:
    labels = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    rest, val = stratified_split(labels, len(labels), [0.9], seed=0)
    assert np.bincount(labels[rest]).tolist() == [1, 1]
    assert sorted(np.concatenate([rest, val]).tolist()) == list(range(10))


def test_set_data_config_drives_eval_transform() -> None:
    dm = ImageDataModule(lambda split: synthetic(split=split, n_per_class=4), num_workers=0)
    dm.setup()
    x, _ = dm.test_set[0]
    assert x.shape == (3, 32, 32)  # default before set_data_config
    dm.set_data_config(
        {
            "input_size": (3, 48, 40),
            "interpolation": "bicubic",
            "mean": (0.5,) * 3,
            "std": (0.25,) * 3,
            "crop_pct": 0.875,
        }
    )
    x, _ = dm.test_set[0]
    assert x.shape == (3, 48, 40)
    # Normalisation: (v - 0.5) / 0.25 keeps values in [-2, 2]
    assert x.min() >= -2.0 - 1e-6 and x.max() <= 2.0 + 1e-6
