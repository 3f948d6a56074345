"""ImageDataModule and build_datamodule on synthetic data, composed through the real Hydra config."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from PIL import Image

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


def _folder_tree(root: Path, splits: dict[str, dict[str, int]], size: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for split, layout in splits.items():
        for cls, n in layout.items():
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{i}.png")
    return root


def test_folder_data_root_override_carves_from_one_folder(tmp_path: Path) -> None:
    data = _folder_tree(tmp_path / "imgs", {".": {"a": 10, "b": 20}})
    cfg = _compose(tmp_path, "folder", [f"data.root={data}", "data.datamodule.num_workers=0"])
    assert cfg.data.root == str(data) and cfg.data.datamodule.train_split is None
    dm = build_datamodule(cfg.data)
    dm.setup("fit")
    assert dm.class_names == ["a", "b"]
    # 10% val and 10% test of each class, disjoint
    assert [len(dm.train_set), len(dm.val_set), len(dm.test_set)] == [24, 3, 3]
    assert np.bincount(dm.test_set.labels).tolist() == [1, 2]


def test_cifar10_data_eval_split_relabelled_by_name(tmp_path: Path) -> None:
    root = _folder_tree(
        tmp_path / "c10",
        {"train": {"cat": 10, "dog": 10, "ship": 10}, "test": {"dog": 2, "ship": 3}},
    )
    cfg = _compose(
        tmp_path, "cifar10", [f"data.root={root}", "data.datamodule.num_workers=0", "seed=1"]
    )
    dm = build_datamodule(cfg.data)
    dm.setup("test")
    assert dm.class_names == ["cat", "dog", "ship"] and dm.seed == 1
    test = dm.test_set
    assert len(test) == 5 and len(dm.val_set) == 3 and len(dm.train_set) == 27
    # the test split alone has classes [dog, ship]; labels follow the training classes
    assert test.class_names == ["cat", "dog", "ship"] and test.labels.tolist() == [1, 1, 2, 2, 2]
    assert [int(y) for _, y in (test[i] for i in range(5))] == [1, 1, 2, 2, 2]


def test_eval_split_with_unknown_class_is_an_error(tmp_path: Path) -> None:
    from semsim.data import CollectionError, folder

    root = _folder_tree(tmp_path / "d", {"train": {"a": 4}, "test": {"a": 1, "b": 1}})
    dm = ImageDataModule(lambda split: folder(str(root), split=split), num_workers=0)
    with pytest.raises(CollectionError, match=r"classes \['b'\] do not occur in the training"):
        dm.setup()


def test_unlabelled_training_data_is_an_error(tmp_path: Path) -> None:
    from semsim.data import CollectionError, folder

    root = _folder_tree(tmp_path / "d", {"train": {".": 4}})
    dm = ImageDataModule(lambda split: folder(str(root / "train")), num_workers=0)
    with pytest.raises(CollectionError, match="has no classes"):
        dm.setup()


@pytest.mark.parametrize("augment", ["none", "basic", "randaug"])
def test_augmentations(augment: str) -> None:
    dm = ImageDataModule(
        lambda split: synthetic(split=split, n_per_class=4), augment=augment, num_workers=0
    )
    dm.set_data_config({"input_size": (3, 40, 40), "mean": (0.5,) * 3, "std": (0.5,) * 3})
    train = dm.train_set
    torch.manual_seed(0)
    views = [train[0][0] for _ in range(6)]
    assert all(v.shape == (3, 40, 40) for v in views)
    varied = any(not torch.equal(views[0], v) for v in views[1:])
    assert varied == (augment != "none")
    eval_view = dm.test_set[0][0]
    assert torch.equal(eval_view, dm.test_set[0][0])  # eval transform is deterministic
    if augment == "none":
        assert torch.equal(views[0], dm.eval_transform(train.load_image(0)))


def test_high_res_basic_augment_random_resized_crop() -> None:
    from semsim.data.datamodule import train_transform

    t = train_transform({"input_size": (3, 24, 24)}, "basic")
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 90, 3), np.uint8))
    assert t(img).shape == (3, 24, 24)


def test_dataloaders_batches_and_drop_last() -> None:
    dm = ImageDataModule(
        lambda split: synthetic(split=split, n_per_class=10, n_classes=2),
        batch_size=8,
        num_workers=0,
    )
    dm.setup("fit")
    sizes = [len(y) for _, y in dm.train_dataloader()]
    assert len(dm.train_set) == 18 and sizes == [8, 8]  # the last partial batch is dropped
    assert sum(len(y) for _, y in dm.val_dataloader()) == 2
    assert sum(len(y) for _, y in dm.test_dataloader()) == 20
    d = dm.describe()
    assert d["train"]["n_images"] == 18 and d["data_config"]["input_size"] == [3, 32, 32]


def test_compare_style_collection_group_and_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate

    from semsim.data import resolve_path

    _folder_tree(tmp_path / "work" / "pics", {".": {"x": 2, "y": 3}})
    root = tmp_path / "conf"
    root.mkdir()
    shutil.copytree(CONF / "collection", root / "collection")
    (root / "cmp.yaml").write_text(
        "defaults:\n  - collection@a: folder\n  - collection@b: synthetic\n  - _self_\n"
    )
    with initialize_config_dir(config_dir=str(root), version_base="1.3"):
        cfg = compose(
            "cmp",
            overrides=["a.root=pics", "a.classes=[y]", "b.n_per_class=2"],
            return_hydra_config=True,
        )
    assert cfg.a.seed == 0
    cfg.hydra.runtime.cwd = str(tmp_path / "work")  # the original cwd Hydra records
    monkeypatch.chdir(tmp_path)  # a different current directory (as after a chdir run)
    HydraConfig.instance().set_config(cfg)
    try:
        assert resolve_path("pics") == tmp_path / "work" / "pics"
        a = instantiate(cfg.a)
        b = instantiate(cfg.b)
    finally:
        HydraConfig.instance().cfg = None
    assert a.class_names == ["y"] and len(a) == 3
    assert len(b) == 8 and b.name == "synthetic/test"


@pytest.mark.parametrize(
    "data_config",
    [
        {
            "input_size": (3, 48, 48),
            "interpolation": "bicubic",
            "crop_pct": 0.875,
            "crop_mode": "center",
            "mean": (0.485, 0.456, 0.406),
            "std": (0.229, 0.224, 0.225),
        },
        {
            "input_size": (3, 40, 40),
            "interpolation": "bilinear",
            "crop_pct": 1.0,
            "crop_mode": "center",
            "mean": (0.5,) * 3,
            "std": (0.5,) * 3,
        },
        {
            "input_size": (3, 36, 36),
            "interpolation": "bicubic",
            "crop_pct": 0.9,
            "crop_mode": "squash",
            "mean": (0.5,) * 3,
            "std": (0.25,) * 3,
        },
    ],
)
def test_eval_transform_matches_timm(data_config: dict) -> None:
    """timm's own eval transform (a peer implementation) is the reference."""
    from timm.data import create_transform

    from semsim.data.datamodule import eval_transform

    reference = create_transform(**data_config, is_training=False)
    rng = np.random.default_rng(0)
    for shape in [(32, 32, 3), (50, 70, 3), (90, 41, 3)]:
        img = Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8))
        ours, theirs = eval_transform(data_config)(img), reference(img)
        assert ours.shape == theirs.shape == (3, *data_config["input_size"][1:])
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
