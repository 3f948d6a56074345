"""Data-side trust (#13): nothing read from disk runs code; unreadable files and folders,
symbolic-link loops and bad array locations are one-line errors naming the path."""

from __future__ import annotations

import builtins
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

from semsim.data import CIFAR10_CLASSES, CollectionError, arrays, cifar10, folder, synthetic
from semsim.data.sources import load_batch

CONF = Path(__file__).resolve().parents[1] / "conf"
RNG = np.random.default_rng(7)
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)


# --- CIFAR-10 batches: a restricted unpickler -------------------------------------------------
class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes str and bytes as Python 2 ``str`` opcodes, as the original CIFAR-10 files do."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def _py2_batch(pixels: np.ndarray, labels: list[int]) -> bytes:
    """A batch in the original format: protocol 2, Python-2 strings, numpy 1 module names."""
    import io

    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(
        {"batch_label": "testing batch 1 of 1", "labels": labels, "data": pixels}
    )
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def test_original_python2_batch_format_loads(tmp_path: Path) -> None:
    hwc = RNG.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    labels = [3, 1, 4, 1, 5, 9]
    raw = _py2_batch(hwc.transpose(0, 3, 1, 2).reshape(6, -1), labels)
    # the globals of torchvision's real files, and no others
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw and b"cnumpy\ndtype\n" in raw
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    (directory / "test_batch").write_bytes(raw)
    images, got = load_batch(directory / "test_batch")
    assert np.array_equal(images, hwc) and got.tolist() == labels
    c = cifar10(str(tmp_path), split="test")
    assert c.class_names == list(CIFAR10_CLASSES) and np.array_equal(c.images, hwc)


class _OpenPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204 - the crafted payload: creates a file when unpickled
        return (open, (self.marker, "w"))


class _SystemPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", [_OpenPayload, _SystemPayload])
@pytest.mark.parametrize("split", ["test", "train"])
def test_crafted_batch_does_not_run_and_names_the_file(
    tmp_path: Path, payload: type, split: str
) -> None:
    marker = tmp_path / "pwned"
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    good = {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}
    for name in ["test_batch"] + [f"data_batch_{i}" for i in range(1, 6)]:
        (directory / name).write_bytes(pickle.dumps(good))
    evil = directory / ("test_batch" if split == "test" else "data_batch_3")
    evil.write_bytes(pickle.dumps({"data": payload(marker), "labels": [0]}, protocol=2))
    with pytest.raises(CollectionError) as info:
        cifar10(str(tmp_path), split=split)
    message = str(info.value)
    assert str(evil) in message and "never holds" in message and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "cannot load batch file"),  # zero bytes
        (pickle.dumps(["not", "a", "dict"]), "holds a list, not a dict"),
        (pickle.dumps({"data": np.zeros((2, 10), np.uint8), "labels": [0, 1]}), "expected"),
        (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}), "0..9"),
    ],
)
def test_bad_batch_contents_are_clear_errors(tmp_path: Path, content: bytes, match: str) -> None:
    (tmp_path / "test_batch").write_bytes(content)
    with pytest.raises(CollectionError, match=match) as info:
        cifar10(str(tmp_path), split="test")
    assert str(tmp_path / "test_batch") in str(info.value)


def test_truncated_batch_is_a_clear_error(tmp_path: Path) -> None:
    raw = pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 3]})
    (tmp_path / "test_batch").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CollectionError, match=r"cannot load batch file .*test_batch"):
        cifar10(str(tmp_path), split="test")


# --- unreadable files and folders -------------------------------------------------------------
def _deny_open(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """Reading ``denied`` raises PermissionError, as after ``chmod 000`` for a non-root user
    (root reads through permissions, so the tests simulate it at the ``open`` call)."""
    real_open = builtins.open

    def guarded(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(file, (str, os.PathLike)) and Path(file) == denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


def test_unreadable_image_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["a/0.png", "a/1.png", "b/0.png"]:
        _png(tmp_path / name)
    denied = tmp_path / "a" / "1.png"
    _deny_open(monkeypatch, denied)
    c = folder(str(tmp_path))
    with pytest.raises(CollectionError, match="PermissionError") as info:
        c.fingerprint()  # what compare does first (the cache key)
    assert f"cannot read {denied}" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CollectionError, match=r"1\.png.*PermissionError"):
        c.load_image(c.paths.index(str(denied)))
    skipping = folder(str(tmp_path), on_bad_image="skip")
    assert len(skipping) == 2 and skipping.skipped[0][0] == str(denied)
    assert "PermissionError" in skipping.skipped[0][1]
    skipping.fingerprint()


@pytest.mark.parametrize("which", ["root", "sub"])
def test_unreadable_folder_is_an_error_not_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    for name in ["a/0.png", "b/0.png"]:
        _png(tmp_path / name)
    denied = tmp_path if which == "root" else tmp_path / "b"
    real_scandir = os.scandir

    def guarded(path=".", *args):  # noqa: ANN001, ANN002, ANN202
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", guarded)
    with pytest.raises(CollectionError) as info:
        folder(str(tmp_path))
    message = str(info.value)
    assert f"cannot list folder {denied} (PermissionError" in message
    assert "empty" not in message


@pytest.mark.skipif(
    AS_ROOT, reason="root reads through chmod 000; the monkeypatched tests cover it"
)
def test_unreadable_folder_really(tmp_path: Path) -> None:
    _png(tmp_path / "a" / "0.png")
    (tmp_path / "a").chmod(0)
    try:
        with pytest.raises(CollectionError, match="cannot list folder .*PermissionError"):
            folder(str(tmp_path))
    finally:
        (tmp_path / "a").chmod(0o755)


# --- symbolic-link loops ----------------------------------------------------------------------
def test_symlink_loop_between_two_files(tmp_path: Path) -> None:
    _png(tmp_path / "cat" / "0.png")
    (tmp_path / "cat" / "x.png").symlink_to(tmp_path / "cat" / "y.png")
    (tmp_path / "cat" / "y.png").symlink_to(tmp_path / "cat" / "x.png")
    with pytest.raises(CollectionError) as info:
        folder(str(tmp_path))
    message = str(info.value)
    assert "x.png" in message and "symbolic link loop" in message and "on_bad_image=skip" in message
    c = folder(str(tmp_path), on_bad_image="skip")
    assert len(c) == 1 and len(c.skipped) == 2
    c.fingerprint()


def test_root_that_is_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "p").symlink_to(tmp_path / "q")
    (tmp_path / "q").symlink_to(tmp_path / "p")
    with pytest.raises(CollectionError, match=r"cannot open .*p \(.*symbolic link loop"):
        folder(str(tmp_path / "p"))
    with pytest.raises(CollectionError, match=r"cannot open .*p \(.*symbolic link loop"):
        arrays(root=str(tmp_path / "p"))


def test_folder_with_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    for name in ["cat/0.png", "cat/deep/1.png", "dog/0.png"]:
        _png(tmp_path / name)
    (tmp_path / "cat" / "deep" / "up").symlink_to(tmp_path)  # folder loop back to the root
    (tmp_path / "dog" / "self").symlink_to(tmp_path / "dog" / "self")  # link to itself
    c = folder(str(tmp_path))
    assert len(c) == 3 and np.bincount(c.labels).tolist() == [2, 1]


# --- arrays: root alone, as documented --------------------------------------------------------
def test_arrays_root_dir_from_the_command_line(tmp_path: Path) -> None:
    from semsim.compare import build_collection

    images = RNG.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "test.npz", images=images, labels=np.array([0, 1, 0, 1, 1]))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("compare", overrides=["a=arrays", f"a.root={tmp_path}", "a.split=test"])
        only = compose("compare", overrides=["a=arrays", f"a.root={tmp_path}"])
        none = compose("compare", overrides=["a=arrays"])
    assert np.array_equal(build_collection(cfg.a, "a").images, images)
    assert len(build_collection(only.a, "a")) == 5  # the folder's only array file
    with pytest.raises(ValueError, match=r"a: arrays: no file given; set root=FILE\.npz"):
        build_collection(none.a, "a")


# --- bad images keep their errors -------------------------------------------------------------
def test_zero_byte_and_truncated_images_name_the_file(tmp_path: Path) -> None:
    _png(tmp_path / "0.png")
    (tmp_path / "empty.png").write_bytes(b"")
    big = tmp_path / "cut.jpg"
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(big)
    big.write_bytes(big.read_bytes()[:200])
    c = folder(str(tmp_path))
    for name in ["empty.png", "cut.jpg"]:
        with pytest.raises(CollectionError, match=rf"cannot decode image .*{name}"):
            c.load_image(c.paths.index(str(tmp_path / name)))
    skipping = folder(str(tmp_path), on_bad_image="skip")
    assert len(skipping) == 1 and {Path(p).name for p, _ in skipping.skipped} == {
        "empty.png",
        "cut.jpg",
    }


def test_non_integer_seed_is_named() -> None:
    with pytest.raises(CollectionError, match=r"synthetic: seed must be an integer, got 'abc'"):
        synthetic(seed="abc")  # type: ignore[arg-type]
