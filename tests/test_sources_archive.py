"""Archives as sources: zip / tar / compressed tar read in place with the folder source's rules,
CIFAKE's zip read by the cifake source, bad archives refused with one line naming archive and
member (or skipped and counted), and cache keys that hash the image bytes."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semsim.data.collection import CollectionError
from semsim.data.sources import _archives as archives
from semsim.data.sources import archive, build_source, cifake, folder
from tests.helpers import write_class_folders

KINDS = ["zip", "tar", "tgz", "tar.gz", "tar.xz"]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def make_archive(src: Path, out: Path, prefix: str = "") -> Path:
    """Pack every file below ``src`` (names relative to it, under ``prefix``) into ``out``."""
    name = str(out)
    if name.endswith(".zip"):
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for f in _files(src):
                z.write(f, prefix + str(f.relative_to(src)))
        return out
    mode = {"tar": "w", "tgz": "w:gz", ".gz": "w:gz", ".xz": "w:xz"}
    with tarfile.open(out, mode[next(k for k in mode if name.endswith(k))]) as t:
        for f in _files(src):
            t.add(f, prefix + str(f.relative_to(src)))
    return out


def _pixels(collection) -> list[np.ndarray]:
    return [np.asarray(collection.load_image(i)) for i in range(len(collection))]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = write_class_folders(tmp_path / "data", ["train"], n_classes=3, n_per_class=4, size=8)
    return root / "train"


@pytest.mark.parametrize("kind", KINDS)
def test_archive_reads_like_the_folder(tree: Path, tmp_path: Path, kind: str) -> None:
    path = make_archive(tree, tmp_path / f"x.{kind}")
    got, ref = archive(root=str(path)), folder(root=str(tree))
    assert got.class_names == ref.class_names == ["airplane", "automobile", "bird"]
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert got.keys == [str(Path(p).relative_to(tree)) for p in ref.paths]
    for mine, f in zip(_pixels(got), ref.paths, strict=True):  # PIL on the file: the reference
        np.testing.assert_array_equal(mine, np.asarray(Image.open(f).convert("RGB")))
    assert got.describe()["root"] == str(path)
    # the shared options work as for any source
    some = archive(root=str(path), classes=["bird"], max_per_class=2, seed=1)
    assert (
        some.class_names == ["bird"]
        and len(some) == 2
        and set(some.keys) <= {k for k in got.keys if k.startswith("bird/")}
    )


def test_cache_key_hashes_member_bytes_not_where_they_live(tree: Path, tmp_path: Path) -> None:
    keys = {
        k: archive(root=str(make_archive(tree, tmp_path / f"x.{k}"))).fingerprint() for k in KINDS
    }
    assert len(set(keys.values())) == 1  # same bytes, any container, any file name
    # the digest of the content is what feeds the key: recompute it independently
    h = hashlib.sha256(b"MemberCollection")
    files = folder(root=str(tree)).paths
    h.update(str(len(files)).encode())
    for f in files:
        data = Path(f).read_bytes()
        h.update(str(Path(f).relative_to(tree)).encode() + len(data).to_bytes(8, "little") + data)
    coll = archive(root=str(tmp_path / "x.zip"))
    h.update(coll.labels.tobytes() + repr(coll.class_names).encode())
    assert coll.fingerprint() == h.hexdigest()
    # one image changed: a new key
    victim = files[5]
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(victim)
    assert archive(root=str(make_archive(tree, tmp_path / "y.zip"))).fingerprint() != keys["zip"]


def test_split_flat_and_mixed_layouts(tree: Path, tmp_path: Path) -> None:
    path = make_archive(tree, tmp_path / "x.zip", prefix="cifar/train/")
    got = archive(root=str(path), split="cifar/train")
    assert got.class_names == ["airplane", "automobile", "bird"] and len(got) == 12
    with pytest.raises(
        CollectionError, match=r"no folder 'test' in .*x\.zip \(top-level folders: cifar\)"
    ):
        archive(root=str(path), split="test")
    flat = make_archive(tree / "bird", tmp_path / "flat.tar")
    unlabelled = archive(root=str(flat))
    assert unlabelled.labels is None and len(unlabelled) == 4
    with pytest.raises(CollectionError, match="classes=.*no class folders"):
        archive(root=str(flat), classes=["bird"])
    (tree / "stray.png").write_bytes((tree / "bird" / "0000.jpg").read_bytes())
    with pytest.raises(CollectionError, match="both directly inside"):
        archive(root=str(make_archive(tree, tmp_path / "mixed.zip")))


def test_hidden_macos_and_non_image_members_are_ignored(tree: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    make_archive(tree, path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("README.txt", "hello")
        z.writestr("__MACOSX/bird/._0000.jpg", b"\x00\x05junk")
        z.writestr("bird/.hidden.jpg", b"junk")
    got = archive(root=str(path))
    assert len(got) == 12 and got.class_names == ["airplane", "automobile", "bird"]
    only_text = tmp_path / "text.zip"
    with zipfile.ZipFile(only_text, "w") as z:
        z.writestr("a/notes.txt", "x")
    with pytest.raises(
        CollectionError, match=r"no images in .*text\.zip \(1 other members, e\.g\. a/notes\.txt"
    ):
        archive(root=str(only_text))


@pytest.mark.parametrize("kind", ["zip", "tar", "tgz"])
def test_truncated_archives_are_one_clear_error(tree: Path, tmp_path: Path, kind: str) -> None:
    path = make_archive(tree, tmp_path / f"x.{kind}")
    whole = path.read_bytes()
    ends = [len(whole) // 2]
    if kind == "tar":  # in a member's data, and just after one (no end-of-archive marker)
        with tarfile.open(path) as t:
            infos = t.getmembers()
        ends = [infos[5].offset_data + 10, infos[6].offset]
    for end in ends:
        cut = tmp_path / f"cut.{kind}"
        cut.write_bytes(whole[:end])
        with pytest.raises(CollectionError, match=rf"{cut}: .*truncated"):
            archive(root=str(cut))


@pytest.mark.parametrize("name", ["../evil/x.jpg", "/etc/x.jpg", "a/../../x.jpg", "C:\\x.jpg"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_path_traversal_names_are_refused(tmp_path: Path, name: str, kind: str) -> None:
    data = io.BytesIO()
    Image.new("RGB", (4, 4)).save(data, "PNG")
    path = tmp_path / f"evil.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("ok/fine.png", data.getvalue())
            z.writestr(name, data.getvalue())
        assert name in zipfile.ZipFile(path).namelist()  # (zipfile keeps the name as given)
    else:
        with tarfile.open(path, "w") as t:
            info = tarfile.TarInfo(name)
            info.size = len(data.getvalue())
            t.addfile(info, io.BytesIO(data.getvalue()))
    with pytest.raises(CollectionError, match=r"unsafe member name .*path traversal"):
        archive(root=str(path))


def test_zip_bombs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/huge.bmp", b"\x00" * (4 << 20))  # 4 MiB of zeros deflate ~1000:1
    packed = zipfile.ZipFile(bomb).infolist()[0].compress_size
    ratio = (4 << 20) / packed
    assert ratio > 200  # the reference: zipfile's own sizes
    with pytest.raises(CollectionError, match=rf"a/huge\.bmp expands {ratio:.0f} times .*zip bomb"):
        archive(root=str(bomb))
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(5):
            z.writestr(f"a/{i}.png", b"x")
    monkeypatch.setattr(archives, "DEFAULT_LIMITS", archives.Limits(max_members=4))
    with pytest.raises(CollectionError, match="5 members, more than the limit of 4"):
        archive(root=str(many))
    monkeypatch.setattr(archives, "DEFAULT_LIMITS", archives.Limits(max_member_bytes=100))
    with pytest.raises(CollectionError, match=r"huge\.bmp declares 4194304 bytes, more than"):
        archive(root=str(bomb))
    monkeypatch.setattr(archives, "DEFAULT_LIMITS", archives.Limits(max_bytes=4))
    with pytest.raises(CollectionError, match="declare more than 4 bytes in all"):
        archive(root=str(many))


def _lying_zip(tmp_path: Path, good: bytes) -> Path:
    """A zip whose central directory declares one member 10 bytes shorter than it is."""
    path = tmp_path / "lie.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/good.png", good)
        z.writestr("a/liar.png", good)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 4)  # second central entry
    (size,) = struct.unpack_from("<I", raw, at + 24)
    struct.pack_into("<I", raw, at + 24, size - 10)
    path.write_bytes(bytes(raw))
    return path


def test_declared_size_mismatch_and_corrupt_members_error_or_skip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(buf, "PNG")
    path = _lying_zip(tmp_path, buf.getvalue())
    got = archive(root=str(path))
    with pytest.raises(CollectionError, match=rf"cannot decode image {path}:a/liar\.png .*CRC"):
        got.load_image(1)
    np.testing.assert_array_equal(np.asarray(got.load_image(0)), np.asarray(Image.open(buf)))
    kept = archive(root=str(path), on_bad_image="skip")
    assert kept.keys == ["a/good.png"] and kept.describe()["n_skipped"] == 1
    assert kept.skipped[0][0] == f"{path}:a/liar.png"
    # a member named like an image that is not one
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("a/text.jpg", b"not an image")
    with pytest.raises(CollectionError, match=r"a/text\.jpg .*set on_bad_image=skip"):
        archive(root=str(path)).load_image(2)
    assert len(archive(root=str(path), on_bad_image="skip").skipped) == 2


def test_tar_links_and_devices_error_or_are_skipped(tree: Path, tmp_path: Path) -> None:
    path = make_archive(tree, tmp_path / "x.tar")
    with tarfile.open(path, "a") as t:
        link = tarfile.TarInfo("bird/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
        dev = tarfile.TarInfo("bird/dev.jpg")
        dev.type = tarfile.CHRTYPE
        t.addfile(dev)
    with pytest.raises(CollectionError, match=rf"member bird/link\.jpg of {path} is a symbolic"):
        archive(root=str(path))
    kept = archive(root=str(path), on_bad_image="skip")
    assert len(kept) == 12 and kept.describe()["n_skipped"] == 2
    assert sorted(r for _, r in kept.skipped) == ["a device or fifo", "a symbolic or hard link"]


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(CollectionError, match="is not an archive file"):
        archive(root=str(tmp_path / "x.png"))
    with pytest.raises(CollectionError, match="path does not exist"):
        archive(root=str(tmp_path / "none.zip"))


def test_cifake_reads_kaggles_zip(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "cifake", ["train", "test"], 2, 12, cifake=True, size=8)
    for prefix, name in (("", "top.zip"), ("cifake/", "wrapped.zip")):
        path = make_archive(data, tmp_path / name, prefix=prefix)
        for kinds, label in ((["REAL"], "realfake"), (["REAL", "FAKE"], "both")):
            got = cifake(root=str(path), split="train", kinds=kinds, label=label)
            ref = cifake(root=str(data), split="train", kinds=kinds, label=label)
            assert got.class_names == ref.class_names
            np.testing.assert_array_equal(got.labels, ref.labels)
            for key in ("class", "realfake"):
                np.testing.assert_array_equal(got.attributes[key][0], ref.attributes[key][0])
            assert [k.removeprefix(prefix) for k in got.keys] == [
                str(Path(p).relative_to(data)) for p in ref.paths
            ]
            for mine, f in zip(_pixels(got), ref.paths, strict=True):
                np.testing.assert_array_equal(mine, np.asarray(Image.open(f).convert("RGB")))
    with pytest.raises(CollectionError, match=r"no valid/REAL folder in .*top\.zip"):
        cifake(root=str(tmp_path / "top.zip"), split="valid")


def test_pickles_and_forked_workers_read_the_same_pixels(tree: Path, tmp_path: Path) -> None:
    import torch

    for kind in ("zip", "tar", "tgz"):
        coll = archive(root=str(make_archive(tree, tmp_path / f"x.{kind}")))
        ref = np.stack(_pixels(coll))
        again = pickle.loads(pickle.dumps(coll))
        np.testing.assert_array_equal(np.stack(_pixels(again)), ref)
        if kind == "tgz":  # held in memory: nothing to reopen
            continue
        loader = torch.utils.data.DataLoader(
            coll.with_transform(np.asarray), batch_size=5, num_workers=2,
            multiprocessing_context="fork",
        )  # fmt: skip
        got = torch.cat([x for x, _ in loader]).numpy()
        np.testing.assert_array_equal(got, ref)


def test_registry_and_hydra_config(tree: Path, tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from semsim.overrides import check_overrides

    path = make_archive(tree, tmp_path / "x.zip")
    assert len(build_source("archive", {"root": str(path), "max_per_class": 1})) == 3
    cfg = check_overrides("compare", ["a=archive", f"a.root={path}", "a.split=bird", "b=synthetic"])
    coll = instantiate(cfg.a)
    assert coll.labels is None and len(coll) == 4


def test_short_form_reads_archives_as_the_archive_source(tree: Path, tmp_path: Path) -> None:
    from semsim.cli import read_sources

    a, b = make_archive(tree, tmp_path / "A.zip"), make_archive(tree, tmp_path / "B.tar.gz")
    assert read_sources([str(a), f"b={b}"]) == [
        "a=archive",
        f"a.root={a}",
        "b=archive",
        f"b.root={b}",
    ]
    assert read_sources([str(tree), str(a)])[:4] == [
        "b=archive",
        f"b.root={a}",
        "a=folder",
        f"a.root={tree}",
    ]


@pytest.mark.slow
def test_compare_zip_and_tgz_end_to_end(tree: Path, tmp_path: Path) -> None:
    """`semsim compare A.zip B.tar.gz`: the short form reads archives as a=archive."""
    from hydra.core.global_hydra import GlobalHydra

    from semsim.cli import main, read_sources

    a, b = make_archive(tree, tmp_path / "A.zip"), make_archive(tree, tmp_path / "B.tar.gz")
    assert read_sources([str(a), f"b={b}"])[:4] == [
        "a=archive",
        f"a.root={a}",
        "b=archive",
        f"b.root={b}",
    ]
    GlobalHydra.instance().clear()
    main(
        [
            "compare", str(a), str(b), f"out_dir={tmp_path / 'out'}", "cache_dir=null",
            "n_bootstrap=0", "noise_floor=false", "encoder.image_size=32", "progress=false",
            "scores=[prototype_cosine]", f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )  # fmt: skip
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["inputs"]["a"]["source"]["root"] == str(a)
    assert data["inputs"]["b"]["classes"] == {"airplane": 4, "automobile": 4, "bird": 4}
    assert data["scores"]["prototype_cosine"]["value"] == pytest.approx(1.0, abs=1e-6)
