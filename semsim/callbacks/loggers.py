"""Sending a report from a callback to the trainer's loggers.

Every logger gets the scalars (each score, the headline, the mean off-diagonal value of each
matrix). A W&B logger also gets rich objects built from whatever the report holds:

- each matrix as a ``wandb.Table`` and its heatmap PNG as a ``wandb.Image``;
- each ``report.sections`` entry, read generically: a list of items that name an image
  (``path``/``image``/``file``/``thumbnail``: a file, relative to the report folder or absolute,
  or a ``data:image/...;base64,`` URI) becomes a ``wandb.Table`` whose image column holds
  ``wandb.Image`` objects and whose other columns are the items' scalar fields (an evidence
  gallery: image ids/paths with their scores); a list of flat records becomes a plain table; a
  string naming a PNG/JPEG file in the report folder (``pair_score.png``) becomes a
  ``wandb.Image``. Nested dicts are walked, the key path naming the logged object.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from semsim.report import Report

IMAGE_KEYS = ("path", "image", "file", "thumbnail")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


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


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _walk(obj: Any, key: str) -> Iterator[tuple[str, str, Any]]:
    """``(kind, key path, value)`` for every gallery, record table and figure under ``obj``."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, f"{key}/{k}")
    elif isinstance(obj, list) and obj:
        if all(isinstance(x, Mapping) for x in obj):
            if any(_image_ref(x) for x in obj):
                yield "gallery", key, obj
            elif all(all(_is_scalar(v) for v in x.values()) for x in obj):
                yield "records", key, obj
            else:
                for i, x in enumerate(obj):
                    yield from _walk(x, f"{key}/{i}")
        elif all(isinstance(x, str) and x.lower().endswith(IMAGE_SUFFIXES) for x in obj):
            yield "gallery", key, [{"path": x} for x in obj]
    elif isinstance(obj, str) and obj.lower().endswith(IMAGE_SUFFIXES):
        yield "figure", key, obj


def _wandb_image(ref: str, base: Path, caption: str | None = None) -> Any:
    """A ``wandb.Image`` of a file (absolute or under ``base``) or a data URI; None if neither."""
    import wandb

    if ref.startswith("data:image/") and ";base64," in ref:
        from PIL import Image

        data = base64.b64decode(ref.split(";base64,", 1)[1])
        return wandb.Image(Image.open(io.BytesIO(data)), caption=caption)
    path = Path(ref) if Path(ref).is_absolute() else base / ref
    return wandb.Image(str(path), caption=caption) if path.is_file() else None


def _columns(items: list[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = []
    for x in items:
        cols += [k for k, v in x.items() if k not in cols and _is_scalar(v)]
    return cols


def wandb_objects(report: Report, out_dir: Path, prefix: str) -> dict[str, Any]:
    """The W&B objects (tables and images) of ``report``, whose files are in ``out_dir``.

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
                img = _wandb_image(value, out_dir, caption=key.rsplit("/", 1)[-1])
                if img is not None:
                    objs[key] = img
                continue
            cols = _columns(value)
            if kind == "records":
                objs[key] = wandb.Table(
                    columns=cols, data=[[x.get(c) for c in cols] for x in value]
                )
                continue
            rows = []
            for x in value:
                ref = x[_image_ref(x)] if _image_ref(x) else None
                img = None if ref is None else _wandb_image(ref, out_dir, caption=str(ref)[:80])
                rows.append([img, *(x.get(c) for c in cols)])
            objs[key] = wandb.Table(columns=["image", *cols], data=rows)
    return objs


def log_report(trainer: L.Trainer, report: Report, out_dir: Path, prefix: str) -> None:
    """Send a report's numbers to the trainer's loggers (tables, heatmaps, galleries to W&B)."""
    from lightning.pytorch.loggers import WandbLogger

    scalars = report_scalars(report, prefix)
    for lg in trainer.loggers:
        if scalars:
            lg.log_metrics(scalars, step=trainer.global_step)
        if isinstance(lg, WandbLogger):
            objs = wandb_objects(report, Path(out_dir), prefix)
            if objs:
                lg.log_metrics(objs, step=trainer.global_step)
