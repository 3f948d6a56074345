"""Finding and reading a Hugging Face dataset's files with pyarrow: ``save_to_disk`` folders
(arrow IPC streams, memory-mapped), the hub's parquet layouts (read one row group at a time), and
the image cells (``{bytes, path}`` structs, raw bytes or paths) as a store of image bytes."""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsim.data.collection import CollectionError
from semsim.data.sources._archives import MemberError
from semsim.utils import did_you_mean

_SHARD = re.compile(r"^(.+?)(?:-\d{5}-of-\d{5})?$")


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


def read_table(pa: Any, files: list[Path], kind: str, columns: list[str] | None) -> Any:
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


def read_schema(pa: Any, files: list[Path], kind: str) -> Any:
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(files[0])
        except (pa.ArrowException, OSError) as error:
            raise CollectionError(f"hf: cannot read {files[0]} ({error})") from None
    return read_table(pa, files[:1], kind, None).schema


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


class ImageColumn:
    """A store over one column of image cells (``{bytes, path}`` structs, bytes or paths);
    subclasses say where row ``i``'s cell is (``_cell``)."""

    def __init__(self, typ: Any, folder: Path, where: str) -> None:
        import pyarrow as pa

        self.where = where
        self.folder = folder
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

    def _cell(self, row: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

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


class TableColumn(ImageColumn):
    """Cells of a column in memory (or memory-mapped: ``save_to_disk``'s arrow files)."""

    def __init__(self, values: Any, folder: Path, where: str) -> None:
        super().__init__(values.type, folder, where)
        self.chunks = list(values.chunks)
        self.starts = list(np.cumsum([0] + [len(c) for c in self.chunks[:-1]]))

    def _cell(self, row: int) -> Any:
        j = bisect.bisect_right(self.starts, row) - 1
        return self.chunks[j][row - self.starts[j]]


class ParquetColumn(ImageColumn):
    """Cells of a column of parquet files, read one row group at a time when first needed (the
    last few kept), so a dataset larger than memory can be read."""

    KEEP = 4  # row groups kept per process

    def __init__(self, files: list[Path], column: str, folder: Path, where: str) -> None:
        import pyarrow.parquet as pq

        metas = [pq.ParquetFile(f).metadata for f in files]
        schema = metas[0].schema.to_arrow_schema()
        super().__init__(schema.field(column).type, folder, where)
        self.files, self.column = files, column
        self.groups = [(i, g) for i, m in enumerate(metas) for g in range(m.num_row_groups)]
        counts = [metas[i].row_group(g).num_rows for i, g in self.groups]
        self.starts = list(np.cumsum([0] + counts[:-1]))
        self.num_rows = int(sum(counts))
        self.__setstate__(self.__dict__)

    def _cell(self, row: int) -> Any:
        j = bisect.bisect_right(self.starts, row) - 1
        return self._group(j)[row - self.starts[j]]

    def _group(self, j: int) -> Any:
        import pyarrow.parquet as pq

        if self._pid != os.getpid():  # a forked worker: its own cache and lock
            self.__setstate__(self.__dict__)
        with self._lock:
            if j in self._cache:
                self._cache.move_to_end(j)
                return self._cache[j]
        i, g = self.groups[j]
        try:
            file = pq.ParquetFile(self.files[i])
            values = file.read_row_group(g, columns=[self.column]).column(0)
        except Exception as error:  # pyarrow's errors, OSError
            reason = " ".join(str(error).split())
            raise MemberError(f"{self.files[i]}: {type(error).__name__}: {reason}") from None
        with self._lock:
            self._cache[j] = values
            while len(self._cache) > self.KEEP:
                self._cache.popitem(last=False)
        return values

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_lock", "_pid")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()


def parquet_column(files: list[Path], column: str, folder: Path, where: str) -> ParquetColumn:
    """:class:`ParquetColumn`; a file whose metadata cannot be read is an error naming it."""
    import pyarrow.parquet as pq

    for f in files:
        try:
            pq.read_metadata(f)
        except Exception as error:  # pyarrow's errors, OSError
            reason = " ".join(str(error).split())
            raise CollectionError(
                f"hf: cannot read {f} ({type(error).__name__}: {reason})"
            ) from None
    return ParquetColumn(files, column, folder, where)
