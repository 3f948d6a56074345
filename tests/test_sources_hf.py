"""Hugging Face datasets as a source, offline, with pyarrow alone: save_to_disk folders
(Dataset and DatasetDict), the hub's parquet layouts, {bytes, path} structs, raw bytes and
paths; class names from the ClassLabel feature; bad cells named by row, or skipped and counted."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semsim.data.collection import CollectionError
from semsim.data.sources import build_source, hf

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

NAMES = ["cat", "dog", "ship"]
FEATURES = {
    "image": {"_type": "Image"},
    "label": {"names": NAMES, "_type": "ClassLabel"},
}


def _png(value: int, size: int = 6) -> bytes:
    pixels = np.full((size, size, 3), value, np.uint8)
    pixels[0, 0] = (value * 7) % 256, 3, 250
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


IMAGES = [_png(10 * i) for i in range(6)]
LABELS = [2, 0, 2, 0, 2, 0]  # dog (1) absent: names are the present ones, in ClassLabel order


def _table(images=IMAGES, labels=LABELS, metadata=True):
    struct = pa.array(
        [{"bytes": b, "path": None} for b in images],
        type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
    )
    table = pa.table({"image": struct, "label": pa.array(labels, pa.int64())})
    if metadata:
        meta = {b"huggingface": json.dumps({"info": {"features": FEATURES}}).encode()}
        table = table.replace_schema_metadata(meta)
    return table


def save_to_disk(folder: Path, table, features=FEATURES) -> Path:
    """What ``Dataset.save_to_disk`` writes: an arrow IPC stream, state.json, dataset_info.json."""
    folder.mkdir(parents=True)
    sink = pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb")
    with sink, pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=4):  # two record batches
            writer.write_batch(batch)
    (folder / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None})
    )
    (folder / "dataset_info.json").write_text(json.dumps({"features": features}))
    return folder


def _pixels(coll) -> np.ndarray:
    return np.stack([np.asarray(coll.load_image(i)) for i in range(len(coll))])


def _reference(images) -> np.ndarray:
    return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in images])


def test_save_to_disk_folder(tmp_path: Path) -> None:
    path = save_to_disk(tmp_path / "ds", _table())
    coll = hf(path=str(path))
    assert coll.class_names == ["cat", "ship"]
    np.testing.assert_array_equal(coll.labels, [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(_pixels(coll), _reference(IMAGES))
    # the key hashes row keys and image bytes (recomputed here with hashlib)
    h = hashlib.sha256(b"MemberCollection" + b"6")
    for i, b in enumerate(IMAGES):
        h.update(str(i).encode() + len(b).to_bytes(8, "little") + b)
    h.update(coll.labels.tobytes() + repr(coll.class_names).encode())
    assert coll.fingerprint() == h.hexdigest()
    # `root` is the same option as `path`; the shared options work
    assert len(build_source("hf", {"root": str(path), "classes": ["ship"]})) == 3
    some = hf(path=str(path), max_per_class=1, seed=3)
    assert sorted(some.labels.tolist()) == [0, 1]


def test_dataset_dict_splits(tmp_path: Path) -> None:
    root = tmp_path / "dd"
    save_to_disk(root / "train", _table())
    save_to_disk(root / "test", _table(IMAGES[:2], LABELS[:2]))
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    assert len(hf(path=str(root), split="train")) == 6
    test = hf(path=str(root), split="test")
    assert len(test) == 2 and test.class_names == ["cat", "ship"]
    with pytest.raises(CollectionError, match="holds splits train, test; choose one with split"):
        hf(path=str(root))
    with pytest.raises(CollectionError, match="no split 'tset'.*did you mean `test`"):
        hf(path=str(root), split="tset")


@pytest.mark.parametrize(
    "layout",
    [
        ("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet",
         "data/test-00000-of-00001.parquet"),
        ("plain/train/0000.parquet", "plain/train/0001.parquet", "plain/test/0000.parquet"),
        ("train-a.parquet", "train-b.parquet", "test.parquet"),
    ],
)  # fmt: skip
def test_parquet_layouts_of_the_hub(tmp_path: Path, layout: tuple[str, str, str]) -> None:
    parts = [
        _table(IMAGES[:4], LABELS[:4]),
        _table(IMAGES[4:], LABELS[4:]),
        _table(IMAGES[:1], [0]),
    ]
    for name, table in zip(layout, parts, strict=True):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp_path / name)
    if layout[0].startswith("train-a"):  # no shard numbers: one split per file stem
        with pytest.raises(CollectionError, match="splits"):
            hf(path=str(tmp_path), split="train")
        return
    train = hf(path=str(tmp_path), split="train")
    np.testing.assert_array_equal(_pixels(train), _reference(IMAGES))
    assert train.class_names == ["cat", "ship"]  # names from the parquet's huggingface metadata
    assert len(hf(path=str(tmp_path), split="test")) == 1
    # one file alone; same bytes, same key as the save_to_disk form
    one = hf(path=str(tmp_path / layout[2]))
    saved = hf(path=str(save_to_disk(tmp_path / "saved", _table(IMAGES[:1], [0]))))
    assert one.fingerprint() == saved.fingerprint()


def test_parquet_images_are_read_a_row_group_at_a_time(tmp_path: Path) -> None:
    import pickle

    images = [_png(i) for i in range(0, 250, 10)]  # 25 images in 13 row groups of 2
    pq.write_table(
        _table(images, [i % 3 for i in range(25)]), tmp_path / "x.parquet", row_group_size=2
    )
    coll = hf(path=str(tmp_path / "x.parquet"))
    assert pq.ParquetFile(tmp_path / "x.parquet").metadata.num_row_groups == 13
    np.testing.assert_array_equal(_pixels(coll), _reference(images))
    assert 0 < len(coll.store._cache) <= coll.store.KEEP  # not the whole column
    np.testing.assert_array_equal(coll.labels, [i % 3 for i in range(25)])
    again = pickle.loads(pickle.dumps(coll))
    np.testing.assert_array_equal(_pixels(again)[::-1], _reference(images)[::-1])


def test_raw_bytes_string_labels_and_paths(tmp_path: Path) -> None:
    table = pa.table({"png": pa.array(IMAGES, pa.binary()), "kind": ["b", "a", "b", "a", "c", "a"]})
    pq.write_table(table, tmp_path / "x.parquet")
    coll = hf(path=str(tmp_path / "x.parquet"), image_column="png", label_column="kind")
    assert coll.class_names == ["a", "b", "c"]
    np.testing.assert_array_equal(coll.labels, [1, 0, 1, 0, 2, 0])
    np.testing.assert_array_equal(_pixels(coll), _reference(IMAGES))
    # {bytes: null, path} cells: read relative to the dataset folder
    paths = pa.array(
        [{"bytes": None, "path": f"img/{i}.png"} for i in range(4)],
        type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
    )
    path = save_to_disk(tmp_path / "ds", pa.table({"image": paths}), {"image": {"_type": "Image"}})
    (path / "img").mkdir()
    for i, b in enumerate(IMAGES[:3]):
        (path / "img" / f"{i}.png").write_bytes(b)
    with pytest.raises(CollectionError, match=r"cannot decode image .*ds:3 .*No such file"):
        hf(path=str(path)).load_image(3)
    kept = hf(path=str(path), on_bad_image="skip")
    assert kept.labels is None and len(kept) == 3 and kept.describe()["n_skipped"] == 1
    np.testing.assert_array_equal(_pixels(kept), _reference(IMAGES[:3]))


def test_bad_cells_and_labels(tmp_path: Path) -> None:
    images = IMAGES[:3] + [b"not an image"]
    path = save_to_disk(tmp_path / "ds", _table(images, [0, 2, 0, 2]))
    with pytest.raises(CollectionError, match=r"cannot decode image .*ds:3 .*on_bad_image=skip"):
        _pixels(hf(path=str(path)))
    kept = hf(path=str(path), on_bad_image="skip")
    assert len(kept) == 3 and kept.skipped[0][0].endswith("ds:3")
    unlabelled = save_to_disk(tmp_path / "u", _table(IMAGES[:2], [0, -1]))
    with pytest.raises(CollectionError, match=r"1 rows .* label -1 .*label_column=null"):
        hf(path=str(unlabelled))
    assert hf(path=str(unlabelled), label_column=None).labels is None
    with pytest.raises(CollectionError, match="no column 'labl'.*did you mean `label`"):
        hf(path=str(path), label_column="labl")
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "n.parquet")
    with pytest.raises(CollectionError, match=r"no image column found .*set image_column=NAME"):
        hf(path=str(tmp_path / "n.parquet"))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(CollectionError, match=r"cannot read .*broken\.parquet"):
        hf(path=str(tmp_path / "broken.parquet"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectionError, match="no dataset in .*empty"):
        hf(path=str(tmp_path / "empty"))


def test_hydra_config_builds_it(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from semsim.overrides import check_overrides

    path = save_to_disk(tmp_path / "ds", _table())
    cfg = check_overrides(
        "compare", ["a=hf", f"a.path={path}", "a.label_column=null", "b=synthetic"]
    )
    coll = instantiate(cfg.a)
    assert len(coll) == 6 and coll.labels is None


def test_a_folder_written_by_the_datasets_package(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the datasets package is not installed")
    feats = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=NAMES)})
    images = [Image.open(io.BytesIO(b)) for b in IMAGES]
    ds = datasets.Dataset.from_dict({"img": images, "label": LABELS}, features=feats)
    datasets.DatasetDict({"train": ds, "test": ds.select([1, 2])}).save_to_disk(tmp_path / "dd")
    ds.to_parquet(str(tmp_path / "x.parquet"))
    train = hf(path=str(tmp_path / "dd"), split="train")
    assert train.class_names == ["cat", "ship"]
    np.testing.assert_array_equal(train.labels, [1, 0, 1, 0, 1, 0])
    reference = np.stack([np.asarray(ds[i]["img"].convert("RGB")) for i in range(len(ds))])
    np.testing.assert_array_equal(_pixels(train), reference)  # datasets' own decoding
    test = hf(path=str(tmp_path / "dd"), split="test")
    np.testing.assert_array_equal(_pixels(test), reference[[1, 2]])
    assert hf(path=str(tmp_path / "x.parquet")).fingerprint() == train.fingerprint()
