"""``hf``: a Hugging Face dataset on disk (``save_to_disk`` folders, parquet files), offline.

Read with pyarrow alone (``pip install semsim[hf]``); the ``datasets`` package is not needed.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsim.data.collection import CollectionError
from semsim.data.sources._archives import MemberError
from semsim.data.sources._common import Options, require_root
from semsim.data.sources._members import MemberCollection, finish_members
from semsim.data.sources.registry import register_source
from semsim.utils import did_you_mean

AUTO = "auto"
_SHARD = re.compile(r"^(.+?)(?:-\d{5}-of-\d{5})?$")


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CollectionError(
            "hf: reading Hugging Face datasets needs pyarrow; pip install 'semsim[hf]'"
        ) from None
    import pyarrow as pa

    return pa


# --- finding the files ----------------------------------------------------------------------
def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CollectionError(f"hf: cannot read {path} ({type(error).__name__}: {error})") from None


def _pick_split(where: Path, splits: Sequence[str], split: str | None) -> str | None:
    if split is not None and str(split) != "":
        if str(split) not in splits:
            raise CollectionError(
                f"hf: no split {split!r} in {where}"
                + (did_you_mean(str(split), splits) or "")
                + f" (splits: {', '.join(splits) or 'none'})"
            )
        return str(split)
    if len(splits) > 1:
        raise CollectionError(
            f"hf: {where} holds splits {', '.join(splits)}; choose one with split=NAME"
        )
    return splits[0] if splits else None


def _parquet_split(path: Path, root: Path) -> str:
    """A parquet file's split from hub names: ``train-00000-of-00001``, ``train/0000``,
    ``train.parquet``."""
    stem = _SHARD.match(path.stem.split(".")[0])
    name = stem.group(1) if stem else path.stem
    parents = path.relative_to(root).parts[:-1]
    if name.isdigit() or name in ("data", "part"):
        return parents[-1] if parents else ""
    return name


def find_files(path: Path, split: str | None) -> tuple[list[Path], str, Path]:
    """``(files, format, folder)``: the arrow or parquet files of ``split`` under ``path``.

    ``format`` is ``"arrow"`` (``save_to_disk``) or ``"parquet"``; ``folder`` is where a
    ``dataset_info.json`` would lie.
    """
    if path.is_file():
        kind = {".parquet": "parquet", ".arrow": "arrow"}.get(path.suffix.lower())
        if kind is None:
            raise CollectionError(f"hf: {path} is neither a .parquet nor an .arrow file")
        return [path], kind, path.parent
    if (path / "dataset_dict.json").is_file():  # DatasetDict.save_to_disk
        splits = [str(s) for s in _json(path / "dataset_dict.json").get("splits", [])]
        chosen = _pick_split(path, splits, split)
        return find_files(path / str(chosen), None)
    if (path / "state.json").is_file():  # Dataset.save_to_disk
        state = _json(path / "state.json")
        files = [path / f["filename"] for f in state.get("_data_files", [])]
        if split and state.get("_split") not in (None, split):
            raise CollectionError(f"hf: {path} holds split {state['_split']!r}, not {split!r}")
        missing = [f for f in files if not f.is_file()]
        if missing or not files:
            raise CollectionError(f"hf: {path}/state.json names missing data files {missing}")
        return files, "arrow", path
    if split and (path / str(split) / "state.json").is_file():
        return find_files(path / str(split), None)
    found = sorted(
        f for f in path.rglob("*.parquet") if not any(p.startswith(".") for p in f.parts)
    )
    if not found:
        raise CollectionError(
            f"hf: no dataset in {path} (expected a save_to_disk folder with state.json or "
            "dataset_dict.json, or .parquet files)"
        )
    by_split: dict[str, list[Path]] = {}
    for f in found:
        by_split.setdefault(_parquet_split(f, path), []).append(f)
    names = sorted(by_split)
    if names == [""]:
        if split:
            raise CollectionError(f"hf: the parquet files in {path} carry no split names")
        return found, "parquet", path
    chosen = _pick_split(path, [n for n in names if n], split)
    return by_split[str(chosen)], "parquet", path


# --- reading the table ----------------------------------------------------------------------
def _read(pa: Any, files: list[Path], kind: str, columns: list[str] | None) -> Any:
    import pyarrow.parquet as pq

    tables = []
    for f in files:
        try:
            if kind == "parquet":
                tables.append(pq.read_table(f, columns=columns, memory_map=True))
                continue
            source = pa.memory_map(str(f))
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                table = pa.ipc.open_file(source).read_all()
            tables.append(table if columns is None else table.select(columns))
        except (pa.ArrowException, OSError) as error:
            raise CollectionError(
                f"hf: cannot read {f} ({type(error).__name__}: {' '.join(str(error).split())})"
            ) from None
    try:
        return pa.concat_tables(tables)
    except pa.ArrowException as error:
        raise CollectionError(f"hf: the files of one split differ in schema ({error})") from None


def _schema(pa: Any, files: list[Path], kind: str) -> Any:
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(files[0])
        except (pa.ArrowException, OSError) as error:
            raise CollectionError(f"hf: cannot read {files[0]} ({error})") from None
    return _read(pa, files[:1], kind, None).schema


def features(schema: Any, folder: Path) -> dict[str, Any]:
    """The ``features`` of ``dataset_info.json`` beside the data, or of the parquet metadata."""
    info = folder / "dataset_info.json"
    if info.is_file():
        return dict(_json(info).get("features") or {})
    meta = (schema.metadata or {}).get(b"huggingface")
    if meta:
        try:
            return dict(json.loads(meta).get("info", {}).get("features") or {})
        except ValueError:
            return {}
    return {}


def _feature_type(feature: Any) -> str | None:
    return feature.get("_type") if isinstance(feature, dict) else None


def _column(
    kind: str, value: str | None, columns: list[str], candidates: list[str], where: Path
) -> str | None:
    if value == AUTO:
        return next((c for c in candidates if c in columns), None)
    if value is None or value == "":
        return None
    if value not in columns:
        raise CollectionError(
            f"hf: no column {value!r} in {where}"
            + (did_you_mean(value, columns) or "")
            + f" (columns: {', '.join(columns)}); set {kind}=NAME"
        )
    return value


def class_labels(
    values: Any, feature: Any, column: str, where: Path
) -> tuple[np.ndarray, list[str]]:
    """Labels ``0..k-1`` and their names: ClassLabel names (those present, in their order),
    else the sorted distinct values."""
    if values.null_count:
        raise CollectionError(
            f"hf: {values.null_count} rows of {where} have no {column}; set label_column=null "
            "to read the images unlabelled"
        )
    raw = values.to_numpy(zero_copy_only=False)
    names = feature.get("names") if _feature_type(feature) == "ClassLabel" else None
    if raw.dtype.kind in "iu":
        raw = raw.astype(np.int64)
        if (raw < 0).any():
            raise CollectionError(
                f"hf: {int((raw < 0).sum())} rows of {where} have label -1 (no label) in "
                f"{column}; set label_column=null to read the images unlabelled"
            )
        if names:
            if raw.max(initial=0) >= len(names):
                raise CollectionError(
                    f"hf: {column} holds {raw.max()} but the ClassLabel has {len(names)} names"
                )
            full = [str(n) for n in names]
        else:
            full = None
    elif raw.dtype.kind in "OUS":
        full = None
        raw = raw.astype(str)
    else:
        raise CollectionError(
            f"hf: label column {column} has type {values.type}; expected integers or strings"
        )
    present, codes = np.unique(raw, return_inverse=True)
    if full is None:
        return codes.astype(np.int64), [str(v) for v in present]
    return codes.astype(np.int64), [full[int(i)] for i in present]


class ImageColumn:
    """A store over one column of image cells (``{bytes, path}`` structs, bytes or paths)."""

    def __init__(self, values: Any, folder: Path, where: str) -> None:
        import pyarrow as pa

        self.where = where
        self.folder = folder
        typ = values.type
        if pa.types.is_struct(typ) and typ.get_field_index("bytes") >= 0:
            self.mode = "struct"
        elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            self.mode = "bytes"
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            self.mode = "path"
        else:
            raise CollectionError(
                f"hf: image column of {where} has type {typ}; expected an Image feature "
                "({bytes, path}), binary, or file paths"
            )
        self.chunks = list(values.chunks)
        self.starts = list(np.cumsum([0] + [len(c) for c in self.chunks[:-1]]))

    def _cell(self, row: int) -> Any:
        j = bisect.bisect_right(self.starts, row) - 1
        return self.chunks[j][row - self.starts[j]]

    def read(self, key: str) -> bytes:
        cell = self._cell(int(key))
        if self.mode == "bytes":
            data, path = cell.as_py(), None
        elif self.mode == "path":
            data, path = None, cell.as_py()
        else:
            value = cell.as_py() or {}
            data, path = value.get("bytes"), value.get("path")
        if data is not None:
            return bytes(data)
        if not path:
            raise MemberError("empty cell (no bytes, no path)")
        file = Path(path) if os.path.isabs(path) else self.folder / path
        try:
            return file.read_bytes()
        except OSError as error:
            raise MemberError(f"{type(error).__name__}: {error.strerror} ({file})") from None


@register_source("hf")
def hf(
    path: str | None = None,
    split: str | None = None,
    image_column: str = AUTO,
    label_column: str | None = AUTO,
    classes: Sequence[str] | str | None = None,
    max_per_class: int | None = None,
    seed: int = 0,
    on_bad_image: str = "error",
    root: str | None = None,
) -> MemberCollection:
    """A Hugging Face dataset saved on disk, read offline with pyarrow.

    Args:
        path: a ``save_to_disk`` folder (``Dataset`` or ``DatasetDict``), a folder of parquet
            files (the hub's layouts: ``data/train-00000-of-00001.parquet``,
            ``train/0000.parquet``, ``train.parquet``), or one ``.parquet`` / ``.arrow`` file.
            ``root`` is the same option under every source's name.
        split: which split; may be left null when there is one.
        image_column: the images: ``auto`` picks the column declared an ``Image`` feature,
            else ``image`` or ``img``. Cells are ``{bytes, path}`` structs (the ``Image``
            feature; a path alone is read relative to the dataset folder), raw bytes, or paths.
        label_column: the classes: ``auto`` picks the ``ClassLabel`` column, else ``label``,
            ``labels`` or ``fine_label``, else none; ``null`` reads the images unlabelled. Class
            names come from the ClassLabel's names (dataset_info.json or the parquet metadata),
            else from the distinct values.
    """
    options = Options.check("hf", classes, max_per_class, seed, on_bad_image)
    if path is not None and root is not None and str(path) != str(root):
        raise CollectionError(f"hf: path={path!r} and root={root!r} differ; give one")
    given = path if path is not None else root
    if given is None or str(given) == "":
        raise CollectionError("hf: no path given; set hf.path=PATH (e.g. a.path=PATH)")
    base = require_root("hf", given)
    pa = _pyarrow()
    files, kind, folder = find_files(base, split)
    schema = _schema(pa, files, kind)
    columns = list(schema.names)
    feats = features(schema, folder)
    typed = [c for c in columns if _feature_type(feats.get(c)) == "Image"]
    labelled = [c for c in columns if _feature_type(feats.get(c)) == "ClassLabel"]
    image = _column(
        "image_column", image_column, columns, typed[:1] + ["image", "img"], folder
    )  # fmt: skip
    if image is None:
        raise CollectionError(
            f"hf: no image column found in {folder} (columns: {', '.join(columns)}); "
            "set image_column=NAME"
        )
    candidates = (labelled if len(labelled) == 1 else []) + ["label", "labels", "fine_label"]
    label = _column("label_column", label_column, columns, candidates, folder)
    if label == image:
        raise CollectionError(f"hf: image_column and label_column are both {image!r}")
    table = _read(pa, files, kind, [image] + ([label] if label else []))
    where = f"{base}" + (f"[{split}]" if split else "")
    store = ImageColumn(table.column(image), folder, where)
    labels = names = None
    if label is not None:
        labels, names = class_labels(table.column(label), feats.get(label), label, base)
    return finish_members(
        options,
        name=f"hf:{base.name}" + (f"/{split}" if split else ""),
        store=store,
        keys=[str(i) for i in range(table.num_rows)],
        labels=labels,
        class_names=names,
        where=f"{where} has no label column (set label_column=NAME)",
    )
