"""Sending a report from a callback to the trainer's loggers.

Every logger gets the scalars (each score, the headline, the mean off-diagonal value of each
matrix). A W&B logger also gets rich objects built from whatever the report holds:

- each matrix as a ``wandb.Table`` and its heatmap PNG as a ``wandb.Image``;
- each ``report.sections`` entry, read generically: a list of items that name an image
  (``path``/``image``/``file``/``thumbnail``: a file, relative to the report folder or absolute,
  or a ``data:image/...;base64,`` URI; or ``set`` + ``index``, drawn by an image loader) or that
  hold such items (image pairs) becomes a ``wandb.Table`` with ``wandb.Image`` columns and the
  items' scalar fields (an evidence gallery: image ids/paths with their scores); a list of flat
  records becomes a plain table; a string naming a PNG/JPEG file in the report folder
  (``pair_score.png``) becomes a ``wandb.Image``. Nested dicts and lists are walked; the key path
  (list entries by their ``key``/``name``/``class``) names the logged object.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from semsim.report import Report

IMAGE_KEYS = ("path", "image", "file", "thumbnail")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
ImageLoader = Callable[[str, int], Any]  # (set "a"/"b", index) -> PIL image


def report_scalars(report: Report, prefix: str) -> dict[str, float]:
    """``{prefix/score: value}``, the headline, and ``prefix/<matrix>/mean_offdiag``."""
    scalars: dict[str, float] = {}
    for name, s in report.scores.items():
        if s.value is not None:
            scalars[f"{prefix}/{name}"] = float(s.value)
    if report.similarity is not None:
        scalars[f"{prefix}/similarity"] = float(report.similarity.value)
    for name, m in report.matrices.items():
        v = np.asarray(m.values, dtype=np.float64)
        off = v[~np.eye(*v.shape, dtype=bool)] if not m.is_cross and v.shape[0] > 1 else v.ravel()
        off = off[np.isfinite(off)]
        if off.size:
            scalars[f"{prefix}/{name}/mean_offdiag"] = float(off.mean())
    return scalars


def _image_ref(item: Mapping[str, Any]) -> str | None:
    for k in IMAGE_KEYS:
        v = item.get(k)
        if isinstance(v, str) and v:
            return k
    return None


def _is_image_item(x: Any) -> bool:
    """An item that names an image: a path/thumbnail, or a ``set`` + ``index`` (evidence)."""
    return isinstance(x, Mapping) and (
        _image_ref(x) is not None or ("set" in x and isinstance(x.get("index"), int))
    )


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _label(x: Any, i: int) -> str:
    for k in ("key", "name", "class", "by", "kind"):
        if isinstance(x, Mapping) and isinstance(x.get(k), str):
            return x[k]
    return str(i)


def _walk(obj: Any, key: str) -> Iterator[tuple[str, str, Any]]:
    """``(kind, key path, value)`` for every gallery, record table and figure under ``obj``."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, f"{key}/{k}")
    elif isinstance(obj, list) and obj:
        if all(isinstance(x, Mapping) for x in obj):
            if any(_is_image_item(x) or any(map(_is_image_item, x.values())) for x in obj):
                yield "gallery", key, obj
            elif all(all(_is_scalar(v) for v in x.values()) for x in obj):
                yield "records", key, obj
            else:
                for i, x in enumerate(obj):
                    yield from _walk(x, f"{key}/{_label(x, i)}")
        elif all(isinstance(x, str) and x.lower().endswith(IMAGE_SUFFIXES) for x in obj):
            yield "gallery", key, [{"path": x} for x in obj]
    elif isinstance(obj, str) and obj.lower().endswith(IMAGE_SUFFIXES):
        yield "figure", key, obj


def _wandb_image(
    item: Mapping[str, Any] | str, base: Path, images: ImageLoader | None = None
) -> Any:
    """A ``wandb.Image`` of an item (its file, absolute or under ``base``; its data URI; or
    ``images(set, index)``) or of a file name; None when there is no way to the pixels."""
    import wandb

    if isinstance(item, str):
        item = {"path": item}
    caption = " ".join(str(item[k]) for k in ("label", "score") if item.get(k) is not None)
    ref = item.get(_image_ref(item)) if _image_ref(item) else None
    if isinstance(ref, str) and ref.startswith("data:image/") and ";base64," in ref:
        from PIL import Image

        data = base64.b64decode(ref.split(";base64,", 1)[1])
        return wandb.Image(Image.open(io.BytesIO(data)), caption=caption or None)
    if isinstance(ref, str):
        path = Path(ref) if Path(ref).is_absolute() else base / ref
        if path.is_file():
            return wandb.Image(str(path), caption=caption or None)
    if images is not None and "set" in item and isinstance(item.get("index"), int):
        try:
            return wandb.Image(
                images(str(item["set"]), int(item["index"])), caption=caption or None
            )
        except (KeyError, IndexError, OSError, ValueError):
            return None
    return None


def _columns(items: list[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Image columns (nested image items, such as a pair's ``a`` and ``b``) and scalar columns."""
    images: list[str] = []
    scalars: list[str] = []
    for x in items:
        images += [k for k, v in x.items() if k not in images and _is_image_item(v)]
        scalars += [k for k, v in x.items() if k not in scalars and _is_scalar(v)]
    return images, scalars


def wandb_objects(
    report: Report, out_dir: Path, prefix: str, images: ImageLoader | None = None
) -> dict[str, Any]:
    """The W&B objects (tables and images) of ``report``, whose files are in ``out_dir``.

    Args:
        images: ``images(set, index) -> PIL image`` for gallery items that carry no file.

    Returns:
        ``{key: wandb.Table | wandb.Image}``, keys ``<prefix>/<matrix>``,
        ``<prefix>/<matrix>_heatmap`` and ``<prefix>/<section>/<path inside the section>``.
    """
    import wandb

    from semsim.report.writer import safe_name

    out_dir = Path(out_dir)
    objs: dict[str, Any] = {}
    for name, m in report.matrices.items():
        rows = [[r, *map(float, vals)] for r, vals in zip(m.row_labels, m.values, strict=True)]
        objs[f"{prefix}/{name}"] = wandb.Table(columns=["row", *m.columns], data=rows)
        png = out_dir / f"{safe_name(name)}.png"
        if png.is_file():
            objs[f"{prefix}/{name}_heatmap"] = wandb.Image(str(png), caption=m.meaning or name)
    for sname, section in report.sections.items():
        for kind, key, value in _walk(section, f"{prefix}/{sname}"):
            if kind == "figure":
                img = _wandb_image(value, out_dir)
                if img is not None:
                    objs[key] = img
                continue
            image_cols, cols = _columns(value)
            if kind == "records":
                objs[key] = wandb.Table(
                    columns=cols, data=[[x.get(c) for c in cols] for x in value]
                )
                continue
            own = any(_is_image_item(x) for x in value)
            head = (["image"] if own else []) + image_cols
            rows = []
            for x in value:
                pics = [_wandb_image(x, out_dir, images)] if own else []
                pics += [
                    _wandb_image(x[c], out_dir, images) if _is_image_item(x.get(c)) else None
                    for c in image_cols
                ]
                rows.append([*pics, *(x.get(c) for c in cols)])
            objs[key] = wandb.Table(columns=[*head, *cols], data=rows)
    return objs


def log_report(
    trainer: L.Trainer,
    report: Report,
    out_dir: Path,
    prefix: str,
    images: ImageLoader | None = None,
) -> None:
    """Send a report's numbers to the trainer's loggers (tables, heatmaps, galleries to W&B).

    Args:
        images: ``images(set, index) -> PIL image`` for gallery items without a file.
    """
    from lightning.pytorch.loggers import WandbLogger

    scalars = report_scalars(report, prefix)
    for lg in trainer.loggers:
        if scalars:
            lg.log_metrics(scalars, step=trainer.global_step)
        if isinstance(lg, WandbLogger):
            objs = wandb_objects(report, Path(out_dir), prefix, images)
            if objs:
                lg.log_metrics(objs, step=trainer.global_step)
