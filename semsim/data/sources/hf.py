"""``hf``: a Hugging Face dataset on disk (``save_to_disk`` folders, parquet files), offline.

Read with pyarrow alone (``pip install semsim[hf]``); the ``datasets`` package is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsim.data.collection import CollectionError
from semsim.data.sources._common import Options, require_root
from semsim.data.sources._hf_files import (
    ImageColumn,
    TableColumn,
    features,
    find_files,
    parquet_column,
    read_schema,
    read_table,
)
from semsim.data.sources._members import MemberCollection, finish_members
from semsim.data.sources.registry import register_source
from semsim.utils import did_you_mean

AUTO = "auto"


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
    schema = read_schema(pa, files, kind)
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
    where = f"{base}" + (f"[{split}]" if split else "")
    store: ImageColumn
    if kind == "parquet":  # images read a row group at a time; labels now
        store = parquet_column(files, image, folder, where)
        n = store.num_rows
        values = read_table(pa, files, kind, [label]).column(label) if label else None
    else:  # arrow: memory-mapped
        table = read_table(pa, files, kind, [image] + ([label] if label else []))
        store, n = TableColumn(table.column(image), folder, where), table.num_rows
        values = table.column(label) if label else None
    labels = names = None
    if label is not None:
        labels, names = class_labels(values, feats.get(label), label, base)
    return finish_members(
        options,
        name=f"hf:{base.name}" + (f"/{split}" if split else ""),
        store=store,
        keys=[str(i) for i in range(n)],
        labels=labels,
        class_names=names,
        where=f"{where} has no label column (set label_column=NAME)",
    )
