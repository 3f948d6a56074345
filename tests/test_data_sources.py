"""Image sources on tiny fixtures written into tmp_path: layouts, shared options, bad input."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semsim.data import (
    CIFAR10_CLASSES,
    CollectionError,
    arrays,
    cifake,
    cifake_class,
    cifar10,
    folder,
    synthetic,
)

RNG = np.random.default_rng(1234)


def _write(path: Path, pixels: np.ndarray | None = None, fmt: str | None = None) -> np.ndarray:
    """Write a small RGB image (random unless given) and return its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels is None:
        pixels = RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)
    return pixels


def _png_tree(root: Path, layout: dict[str, int]) -> None:
    for cls, n in layout.items():
        for i in range(n):
            _write(root / cls / f"{i:03d}.png")


# --- folder ------------------------------------------------------------------------------
def test_folder_classes_from_first_level_subfolders(tmp_path: Path) -> None:
    _png_tree(tmp_path, {"dog": 3, "cat": 2})
    _write(tmp_path / "cat" / "nested" / "deep.png")  # deeper levels still count as "cat"
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "dog" / ".hidden.png").write_bytes(b"junk")  # hidden files are ignored
    c = folder(str(tmp_path))
    assert c.class_names == ["cat", "dog"]
    assert np.bincount(c.labels).tolist() == [3, 3]
    assert all(p.endswith(".png") for p in c.paths)
    img, label = c[0]
    assert img.mode == "RGB" and label == 0


def test_folder_flat_is_unlabelled_and_pixels_roundtrip(tmp_path: Path) -> None:
    written = [_write(tmp_path / f"{i}.png") for i in range(4)]
    c = folder(str(tmp_path))
    assert c.labels is None and c.class_names is None and len(c) == 4
    assert np.array_equal(np.asarray(c.load_image(2)), written[2])
    assert c[1][1] == -1


def test_folder_split_and_relative_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _png_tree(tmp_path / "ds" / "train", {"a": 2, "b": 2})
    _png_tree(tmp_path / "ds" / "test", {"a": 1, "b": 1})
    monkeypatch.chdir(tmp_path)
    c = folder("ds", split="test")
    assert len(c) == 2 and Path(c.root) == tmp_path / "ds" / "test"
    with pytest.raises(
        CollectionError, match=r"no split 'val' under .*ds \(subfolders: test, train\)"
    ):
        folder("ds", split="val")


def test_folder_mixed_flat_and_subfolders_is_an_error(tmp_path: Path) -> None:
    _png_tree(tmp_path, {"a": 1})
    _write(tmp_path / "stray.png")
    with pytest.raises(CollectionError, match="stray.png"):
        folder(str(tmp_path))


def test_classes_filter_and_unknown_class(tmp_path: Path) -> None:
    _png_tree(tmp_path, {"a": 2, "b": 3, "c": 4})
    c = folder(str(tmp_path), classes=["c", "a"])
    assert c.class_names == ["a", "c"]  # source order, renumbered
    assert np.bincount(c.labels).tolist() == [2, 4]
    with pytest.raises(CollectionError, match=r"unknown class 'zebra'; known classes: a, b, c"):
        folder(str(tmp_path), classes=["a", "zebra"])


def test_max_per_class_is_seeded_and_reproducible(tmp_path: Path) -> None:
    _png_tree(tmp_path, {"a": 20, "b": 3})
    c1 = folder(str(tmp_path), max_per_class=5, seed=0)
    c2 = folder(str(tmp_path), max_per_class=5, seed=0)
    c3 = folder(str(tmp_path), max_per_class=5, seed=1)
    assert np.bincount(c1.labels).tolist() == [5, 3]
    assert c1.paths == c2.paths and c1.paths != c3.paths
    assert c1.paths == sorted(c1.paths)  # kept images stay in source order
    flat = tmp_path / "flat"
    for i in range(10):
        _write(flat / f"{i}.png")
    assert len(folder(str(flat), max_per_class=4)) == 4  # unlabelled: cap on the whole set


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: None, r"path does not exist: .*missing"),
        (lambda p: p.mkdir(), r"folder is empty: .*missing"),
        (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), r"no images under .*a\.txt"),
    ],
    ids=["missing", "empty", "no-images"],
)
def test_folder_bad_paths(tmp_path: Path, setup, match: str) -> None:
    path = tmp_path / "missing"
    setup(path)
    with pytest.raises(CollectionError, match=match) as info:
        folder(str(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_bad_image": "ignore"}, "on_bad_image"),
        ({"max_per_class": 0}, "max_per_class"),
        ({"root": None}, "no root given"),
    ],
)
def test_bad_options_are_named(tmp_path: Path, kwargs: dict, match: str) -> None:
    _png_tree(tmp_path, {"a": 1})
    with pytest.raises(CollectionError, match=match):
        folder(**{"root": str(tmp_path), **kwargs})


# --- corrupt images ----------------------------------------------------------------------
def _corrupt_tree(root: Path) -> tuple[Path, Path]:
    _png_tree(root, {"a": 3, "b": 3})
    good = root / "a" / "000.png"
    truncated = root / "a" / "001.jpg"
    _write(truncated, RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:300])
    garbage = root / "b" / "zzz.jpg"
    garbage.write_bytes(b"this is not a jpeg at all")
    assert good.exists()
    return truncated, garbage


def test_corrupt_image_errors_on_load_naming_file(tmp_path: Path) -> None:
    truncated, garbage = _corrupt_tree(tmp_path)
    c = folder(str(tmp_path))
    assert len(c) == 8  # not validated up front in error mode
    i = c.paths.index(str(truncated))
    with pytest.raises(CollectionError, match=r"cannot decode image .*001\.jpg") as info:
        c.load_image(i)
    assert "\n" not in str(info.value) and "on_bad_image=skip" in str(info.value)
    with pytest.raises(CollectionError, match=r"zzz\.jpg"):
        c[c.paths.index(str(garbage))]


def test_skip_bad_images_counts_and_reports(tmp_path: Path) -> None:
    truncated, garbage = _corrupt_tree(tmp_path)
    c = folder(str(tmp_path), on_bad_image="skip")
    assert len(c) == 6 and len(c.skipped) == 2
    assert {s[0] for s in c.skipped} == {str(truncated), str(garbage)}
    assert np.bincount(c.labels).tolist() == [3, 3]
    for i in range(len(c)):
        c.load_image(i)
    d = c.describe()
    assert d["n_skipped"] == 2 and len(d["skipped"]) == 2


# --- image modes -------------------------------------------------------------------------
def _decoded(tmp_path: Path, name: str, image: Image.Image) -> np.ndarray:
    directory = tmp_path / name
    directory.mkdir()
    image.save(directory / f"img{Path(name).suffix or '.png'}")
    c = folder(str(directory))
    out = c.load_image(0)
    assert out.mode == "RGB"
    return np.asarray(out).astype(np.int64)


def test_grayscale_palette_and_cmyk_become_rgb(tmp_path: Path) -> None:
    gray = RNG.integers(0, 256, size=(5, 6), dtype=np.uint8)
    out = _decoded(tmp_path, "gray", Image.fromarray(gray, mode="L"))
    assert np.array_equal(out, np.repeat(gray[..., None], 3, axis=-1))

    palette = RNG.integers(0, 256, size=(256, 3), dtype=np.uint8)
    index = RNG.integers(0, 256, size=(4, 4), dtype=np.uint8)
    p_img = Image.fromarray(index, mode="P")
    p_img.putpalette(palette.reshape(-1).tolist())
    assert np.array_equal(_decoded(tmp_path, "palette", p_img), palette[index])

    for cmyk, rgb in [
        ((255, 0, 0, 0), (0, 255, 255)),
        ((0, 0, 0, 255), (0, 0, 0)),
        ((0, 0, 0, 0), (255, 255, 255)),
    ]:
        name = f"cmyk{cmyk[0]}_{cmyk[3]}.tif"
        out = _decoded(tmp_path, name, Image.new("CMYK", (3, 3), cmyk))
        assert out[0, 0].tolist() == list(rgb)


def test_rgba_composites_on_white(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, size=(6, 6, 4), dtype=np.uint8)
    out = _decoded(tmp_path, "rgba", Image.fromarray(rgba, mode="RGBA"))
    alpha = rgba[..., 3:].astype(np.float64) / 255.0
    expected = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    assert np.abs(out - expected).max() <= 1.0


def test_sixteen_bit_scales_to_eight_bit(tmp_path: Path) -> None:
    values = RNG.integers(0, 65536, size=(5, 7)).astype(np.uint16)
    values[0, 0], values[0, 1] = 0, 65535
    img = Image.fromarray(values)
    assert img.mode.startswith("I;16")
    out = _decoded(tmp_path, "sixteen", img)
    expected = np.rint(values.astype(np.float64) / 257.0)
    assert np.array_equal(out[..., 0], expected) and np.array_equal(out[..., 2], expected)
    assert out[0, 1, 0] == 255  # the 16-bit maximum maps to 255, not to a clipped 65535 & 255


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((16, 32, 3), dtype=np.uint8)
    pixels[:, :16] = (255, 0, 0)
    pixels[:, 16:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    directory = tmp_path / "exif"
    directory.mkdir()
    Image.fromarray(pixels).save(directory / "o.png", exif=exif)
    out = np.asarray(folder(str(directory)).load_image(0))
    assert np.array_equal(out, np.rot90(pixels, k=-1))


# --- fingerprint -------------------------------------------------------------------------
def test_fingerprint_hashes_file_contents(tmp_path: Path) -> None:
    _png_tree(tmp_path / "x", {"a": 2, "b": 2})
    fp = folder(str(tmp_path / "x")).fingerprint()
    assert fp == folder(str(tmp_path / "x")).fingerprint()
    (tmp_path / "x").rename(tmp_path / "moved")  # moving the folder keeps the fingerprint
    assert folder(str(tmp_path / "moved")).fingerprint() == fp
    target = tmp_path / "moved" / "b" / "001.png"
    _write(target)  # same name, new pixels
    assert folder(str(tmp_path / "moved")).fingerprint() != fp
    # changing labels alone (classes filter renumbers) changes it too
    a_only = folder(str(tmp_path / "moved"), classes=["a"]).fingerprint()
    assert a_only != folder(str(tmp_path / "moved")).fingerprint()


def test_fingerprint_changes_with_attributes(tmp_path: Path) -> None:
    _cifake_tree(tmp_path)
    by_realfake = cifake(str(tmp_path), split="train", label="realfake")
    assert (
        by_realfake.fingerprint()
        != cifake(str(tmp_path), split="train", label="class").fingerprint()
    )


# --- CIFAR-10 ----------------------------------------------------------------------------
def _cifar_batches(root: Path, n: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write torchvision's python-pickle format: data (N, 3072) CHW-flattened, labels list."""
    directory = root / "cifar-10-batches-py"
    directory.mkdir(parents=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        hwc = RNG.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = RNG.integers(0, 10, size=n)
        entry = {"data": hwc.transpose(0, 3, 1, 2).reshape(n, -1), "labels": labels.tolist()}
        with open(directory / name, "wb") as f:
            pickle.dump(entry, f)
        written[name] = (hwc, labels)
    with open(directory / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(CIFAR10_CLASSES)}, f)
    return written


def test_cifar10_torchvision_layout(tmp_path: Path) -> None:
    written = _cifar_batches(tmp_path)
    test = cifar10(str(tmp_path), split="test")
    hwc, labels = written["test_batch"]
    assert test.class_names == list(CIFAR10_CLASSES)
    assert np.array_equal(test.labels, labels)
    assert np.array_equal(np.asarray(test.load_image(3)), hwc[3])
    train = cifar10(str(tmp_path), split="train")
    assert len(train) == 20
    assert np.array_equal(np.asarray(train.load_image(5)), written["data_batch_2"][0][1])
    with pytest.raises(CollectionError, match="split must be train or test"):
        cifar10(str(tmp_path), split="val")


def test_cifar10_image_folder_layout(tmp_path: Path) -> None:
    _png_tree(tmp_path / "test", {"cat": 2, "airplane": 1, "truck": 3})
    c = cifar10(str(tmp_path), split="test", classes=["truck", "cat"])
    assert c.class_names == ["cat", "truck"]
    assert np.bincount(c.labels).tolist() == [2, 3]
    _png_tree(tmp_path / "test", {"zebra": 1})
    with pytest.raises(CollectionError, match="not CIFAR-10 classes: zebra"):
        cifar10(str(tmp_path), split="test")


def test_cifar10_missing_offline_says_how_to_supply(tmp_path: Path) -> None:
    with pytest.raises(CollectionError, match=r"set download=true.*cifar-10-python\.tar\.gz"):
        cifar10(str(tmp_path / "nothing"), split="test", download=False)


def test_cifar10_failed_download_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    class Offline:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(CollectionError, match="could not download CIFAR-10") as info:
        cifar10(str(tmp_path / "dl"), split="test", download=True)
    assert "cifar-10-batches-py" in str(info.value) and "\n" not in str(info.value)


# --- CIFAKE ------------------------------------------------------------------------------
def _cifake_tree(root: Path) -> None:
    # REAL: 3 airplanes (class 1) and 2 cats (class 4); FAKE: 1 airplane, 2 trucks (class 10)
    for name in ["0000.jpg", "0001.jpg", "0002.jpg", "0000 (4).jpg", "0005 (4).jpg"]:
        _write(root / "train" / "REAL" / name, fmt="JPEG")
    for name in ["0007.jpg", "0003 (10).jpg", "0004 (10).jpg"]:
        _write(root / "train" / "FAKE" / name, fmt="JPEG")


@pytest.mark.parametrize(
    ("name", "index"), [("1234.jpg", 0), ("1234 (2).jpg", 1), ("7 (10).png", 9), ("5 (4).jpg", 3)]
)
def test_cifake_class_from_file_name(name: str, index: int) -> None:
    assert cifake_class(name) == index


@pytest.mark.parametrize("name", ["1234 (11).jpg", "cat.jpg", "12 (0).jpg", "1234(2).jpg"])
def test_cifake_bad_file_names(name: str) -> None:
    with pytest.raises(CollectionError, match="cannot read the CIFAR-10 class"):
        cifake_class(name)


def test_cifake_labels_and_attributes(tmp_path: Path) -> None:
    _cifake_tree(tmp_path)
    rf = cifake(str(tmp_path), split="train")
    assert rf.class_names == ["REAL", "FAKE"]
    assert rf.labels.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    cls, names = rf.attributes["class"]
    assert names == list(CIFAR10_CLASSES)
    # REAL sorted by number then class: 0000, 0000 (4), 0001, 0002, 0005 (4)
    assert [Path(p).name for p in rf.paths[:5]] == [
        "0000.jpg",
        "0000 (4).jpg",
        "0001.jpg",
        "0002.jpg",
        "0005 (4).jpg",
    ]
    assert cls.tolist() == [0, 3, 0, 0, 3, 9, 9, 0]
    assert rf.attributes["realfake"][0].tolist() == rf.labels.tolist()

    by_class = cifake(str(tmp_path), split="train", label="class")
    assert by_class.class_names == ["airplane", "cat", "truck"]  # present ones, CIFAR-10 order
    assert np.bincount(by_class.labels).tolist() == [4, 2, 2]

    both = cifake(str(tmp_path), split="train", label="both", classes=["FAKE/truck", "REAL/cat"])
    assert both.class_names == ["REAL/cat", "FAKE/truck"]
    assert np.bincount(both.labels).tolist() == [2, 2]
    assert both.attributes["class"][0].tolist() == [3, 3, 9, 9]

    fake = cifake(str(tmp_path), split="train", kinds=["FAKE"])
    assert fake.class_names == ["FAKE"] and len(fake) == 3


def test_cifake_bad_options(tmp_path: Path) -> None:
    _cifake_tree(tmp_path)
    with pytest.raises(CollectionError, match="label must be one of"):
        cifake(str(tmp_path), split="train", label="kind")
    with pytest.raises(CollectionError, match="kinds must be"):
        cifake(str(tmp_path), split="train", kinds=["real"])
    with pytest.raises(CollectionError, match=r"no split 'test' under .* \(subfolders: train\)"):
        cifake(str(tmp_path), split="test")
    _write(tmp_path / "train" / "FAKE" / "oops.jpg")
    with pytest.raises(CollectionError, match=r"oops\.jpg"):
        cifake(str(tmp_path), split="train")


# --- arrays ------------------------------------------------------------------------------
def test_arrays_npz_with_labels_and_names(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, size=(12, 6, 5, 3), dtype=np.uint8)
    labels = np.arange(12) % 3
    np.savez(
        tmp_path / "d.npz", images=images, labels=labels, class_names=np.array(["x", "y", "z"])
    )
    c = arrays(str(tmp_path / "d.npz"))
    assert c.class_names == ["x", "y", "z"] and np.array_equal(c.labels, labels)
    assert np.array_equal(np.asarray(c.load_image(7)), images[7])
    sub = arrays(str(tmp_path / "d.npz"), classes=["z"], max_per_class=2, seed=5)
    assert sub.class_names == ["z"] and len(sub) == 2
    kept = [i for i in range(12) if labels[i] == 2]
    assert any(np.array_equal(np.asarray(sub.load_image(0)), images[i]) for i in kept)


def test_arrays_keras_style_keys_chw_and_npy(tmp_path: Path) -> None:
    x_train = RNG.integers(0, 256, size=(4, 3, 8, 8), dtype=np.uint8)  # (N, C, H, W)
    x_test = RNG.integers(0, 256, size=(2, 3, 8, 8), dtype=np.uint8)
    np.savez(
        tmp_path / "k.npz",
        x_train=x_train,
        y_train=np.array([0, 1, 0, 1]),
        x_test=x_test,
        y_test=np.array([1, 1]),
    )
    c = arrays(str(tmp_path / "k.npz"), split="test")
    assert len(c) == 2 and c.class_names == ["0", "1"] and c.labels.tolist() == [1, 1]
    assert np.array_equal(np.asarray(c.load_image(1)), x_test[1].transpose(1, 2, 0))
    gray = RNG.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
    (tmp_path / "dir").mkdir()
    np.save(tmp_path / "dir" / "val.npy", gray)
    c = arrays(root=str(tmp_path / "dir"), split="val")
    assert c.labels is None and np.asarray(c.load_image(0))[..., 1].tolist() == gray[0].tolist()


def test_arrays_bad_input(tmp_path: Path) -> None:
    np.savez(tmp_path / "f.npz", images=np.zeros((2, 4, 4, 3), dtype=np.float32))
    with pytest.raises(CollectionError, match="must be uint8, got float32"):
        arrays(str(tmp_path / "f.npz"))
    np.savez(
        tmp_path / "o.npz",
        images=np.zeros((2, 4, 4, 3), dtype=np.uint8),
        class_names=np.array(["a", None], dtype=object),
    )
    with pytest.raises(CollectionError, match="without pickle"):
        arrays(str(tmp_path / "o.npz"))
    np.savez(tmp_path / "n.npz", pixels=np.zeros((2, 4, 4, 3), dtype=np.uint8))
    with pytest.raises(CollectionError, match=r"no images in .*n\.npz \(keys: pixels\)"):
        arrays(str(tmp_path / "n.npz"))
    assert len(arrays(str(tmp_path / "n.npz"), images_key="pixels")) == 2
    with pytest.raises(CollectionError, match="path does not exist"):
        arrays(str(tmp_path / "nope.npz"))


# --- synthetic ---------------------------------------------------------------------------
def test_synthetic_is_deterministic_and_splits_differ() -> None:
    a = synthetic(split="train", n_classes=3, n_per_class=5, seed=1)
    b = synthetic(split="train", n_classes=3, n_per_class=5, seed=1)
    c = synthetic(split="test", n_classes=3, n_per_class=5, seed=1)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.images.shape == (15, 32, 32, 3) and a.class_names == ["circle", "square", "triangle"]
    digest = hashlib.sha256(a.images.tobytes()).hexdigest()
    assert digest == hashlib.sha256(b.images.tobytes()).hexdigest()
    # a class subset draws the same pixels as in the full collection
    sub = synthetic(split="train", n_classes=3, n_per_class=5, seed=1, classes=["square"])
    assert np.array_equal(sub.images, a.images[5:10])


def test_synthetic_classes_are_learnable() -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is fastest, and robust on a busy machine
    try:
        acc = _train_tiny_cnn()
    finally:
        torch.set_num_threads(threads)
    assert acc > 0.8, acc  # chance is 0.25 (about 0.95 when written)


def _train_tiny_cnn() -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    train = synthetic(split="train", n_classes=4, n_per_class=64, image_size=32, seed=0)
    test = synthetic(split="test", n_classes=4, n_per_class=32, image_size=32, seed=0)

    def tensors(c):
        x = torch.from_numpy(c.images).permute(0, 3, 1, 2).float() / 255.0 - 0.5
        return x, torch.from_numpy(c.labels)

    x, y = tensors(train)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 4),
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(20):
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    xt, yt = tensors(test)
    with torch.no_grad():
        return (net(xt).argmax(1) == yt).float().mean().item()


def test_bad_options_on_generated_sources() -> None:
    with pytest.raises(CollectionError, match="n_classes must be in 1..8"):
        synthetic(n_classes=9)
    with pytest.raises(CollectionError, match=r"unknown class 'star'; known classes: circle"):
        synthetic(n_classes=2, classes=["star"])


def test_corrupt_image_in_dataloader_worker_stays_one_line(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader
    from torchvision.transforms import ToTensor

    _, garbage = _corrupt_tree(tmp_path)
    c = folder(str(tmp_path), classes=["b"]).with_transform(ToTensor())
    with pytest.raises(CollectionError) as info:
        list(DataLoader(c, batch_size=2, num_workers=1))
    message = str(info.value)
    assert "\n" not in message and str(garbage) in message and "Traceback" not in message
