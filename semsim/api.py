"""The Python call: ``semsim.compare(a, b)`` returns the :class:`~semsim.report.Report` the CLI
writes, and ``semsim.embed(images)`` the features, through the very pipeline of the command.

Options are keyword arguments named like the command line's (``n_bootstrap=0``,
``scores=["fd", "kid"]``, ``device="cpu"``; ``encoder_options={"pretrained": False}`` for
``encoder.pretrained=false``; any dotted key through ``**{"a.max_per_class": 50}``). They become
Hydra overrides of ``conf/compare.yaml``, checked by the CLI's own checker
(:func:`semsim.overrides.check_overrides`) and then by :func:`semsim.compare.compare`; an unknown
option is a ``TypeError`` and a bad value a ``ValueError``, each naming the option and the nearest
valid name. In-memory inputs (images, arrays, tensors, datasets) become collections
(:mod:`semsim.data.memory`) that enter the composed config through a handle.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from semsim.utils import did_you_mean, workers_value

if TYPE_CHECKING:
    from semsim.data.collection import ImageCollection
    from semsim.features import Features
    from semsim.report import Report

DEFAULT_ENCODER = "effnet_lite0"
_GROUPS = ("a", "b", "encoder", "hydra")
_CHOICES = ("trainer",)  # options that pick a config of a group (a plain name, not a string)
#: options of :func:`embed` (the feature-extraction part of conf/compare.yaml)
EMBED_OPTIONS = (
    "batch_size", "num_workers", "device", "precision", "channels_last", "cache_dir",
    "shard_size", "progress",
)  # fmt: skip


def _value(value: Any, option: str) -> str:
    """A Python value as Hydra override text (strings quoted, so no grammar leaks through)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_value(v, option) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_value(v, option)}" for k, v in value.items()) + "}"
    raise TypeError(
        f"{option}: expected a number, a string, a bool, a list or None; got {type(value).__name__}"
    )


def _choice(value: Any, option: str) -> str:
    """A config-group choice (``encoder=effnet_lite0``): a plain name, not a quoted string."""
    if not isinstance(value, str) or not value.replace("_", "").replace("-", "").isalnum():
        raise TypeError(f"{option}: expected a name such as 'effnet_lite0', got {value!r}")
    return value


def _options(
    options: Mapping[str, Any], allowed: list[str], where: str, nested: tuple[str, ...] = ()
) -> list[str]:
    """Overrides for keyword options; an unknown name is a TypeError with the nearest one."""
    out = []
    for key, value in options.items():
        head = key.split(".", 1)[0]
        if key not in allowed and not ("." in key and head in nested):
            raise TypeError(
                f"{where}() got an unknown option {key!r}"
                + (did_you_mean(key, allowed) or f" (options: {', '.join(sorted(allowed))})")
            )
        text = _choice(value, key) if key in _CHOICES and value is not None else _value(value, key)
        out.append(f"{key}={text}")
    return out


def _side(which: str, value: Any, source: str | None) -> tuple[list[str], Any]:
    """Overrides selecting input ``which`` (a path or a source dict), or an in-memory collection."""
    if isinstance(value, str | os.PathLike):
        name = _choice(source or "folder", "source")
        path = os.fspath(value)
        if name == "folder":
            full = Path(path).expanduser()
            if not full.exists():
                raise ValueError(f"{which}: no such folder: {path}")
            if not full.is_dir():
                raise ValueError(
                    f"{which}: {path} is a file, not a folder of images (set source=...)"
                )
        return [f"{which}={name}", f"{which}.root={_value(path, which + '.root')}"], None
    if isinstance(value, Mapping):
        spec = dict(value)
        name = spec.pop("source", source)
        if name is None:
            raise ValueError(
                f"{which}: a dict input needs a 'source' key, e.g. {{'source': 'folder'}}"
            )
        lines = [f"{which}={_choice(name, which + '.source')}"]
        return lines + [f"{which}.{k}={_value(v, f'{which}.{k}')}" for k, v in spec.items()], None
    from semsim.data.memory import to_collection

    return [], to_collection(value, which)


def _compose(overrides: list[str], held: Mapping[str, ImageCollection]) -> DictConfig:
    """``conf/compare.yaml`` with ``overrides``, checked as the CLI checks them; in-memory inputs
    replace their node by a handle (:func:`semsim.data.memory.in_memory`)."""
    from semsim.data.memory import hold
    from semsim.overrides import check_overrides

    cfg = check_overrides("compare", overrides)
    OmegaConf.set_struct(cfg, False)
    for which, coll in held.items():
        cfg[which] = {
            "_target_": "semsim.data.memory.in_memory",
            "handle": hold(coll),
            "name": coll.name,
        }
    return cfg


def _release(cfg: DictConfig) -> None:
    from semsim.data.memory import release

    for which in ("a", "b"):
        node = cfg.get(which)
        if isinstance(node, DictConfig) and node.get("_target_") == "semsim.data.memory.in_memory":
            release(str(node.handle))


def _allowed(exclude: tuple[str, ...] = ()) -> list[str]:
    """The top-level options of ``conf/compare.yaml`` (read as a file: no composition)."""
    from semsim.utils import CONF_DIR

    keys = [str(k) for k in OmegaConf.load(Path(CONF_DIR, "compare.yaml")).keys()]  # noqa: SIM118
    return [k for k in keys if k not in (*_GROUPS, "defaults") and k not in exclude] + ["trainer"]


def _inputs(a: Any, b: Any, source: str | None) -> tuple[list[str], dict[str, Any]]:
    overrides, held = [], {}
    for which, value in (("a", a), ("b", b)):
        if value is None:
            if which == "a":
                raise TypeError("a: the first collection is required (a folder, images, ...)")
            continue
        lines, coll = _side(which, value, source)
        overrides += lines
        if coll is not None:
            held[which] = coll
    return overrides, held


def _encoder(encoder: str, encoder_options: Mapping[str, Any] | None) -> list[str]:
    lines = [f"encoder={_choice(encoder, 'encoder')}"]
    for key, value in (encoder_options or {}).items():
        lines.append(f"encoder.{key}={_value(value, f'encoder.{key}')}")
    return lines


def compare(
    a: Any,
    b: Any = None,
    encoder: str = DEFAULT_ENCODER,
    *,
    source: str | None = None,
    encoder_options: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Report:
    """Compare collection ``a`` with ``b`` (or the classes of ``a`` alone): the CLI's report.

    Args:
        a, b: each a folder path (subfolders are classes); a path read by another source
            (``source="cifar10"``) or a dict ``{"source": NAME, "root": PATH, OPTION: ...}``;
            a list of images (PIL, arrays ``(H, W, C)``, tensors ``(C, H, W)``); an array
            ``(N, H, W, C)`` (uint8, or floats in [0, 1]); a tensor ``(N, C, H, W)``; a dataset
            object (indexable, yielding an image or ``(image, label)``); or an ImageCollection.
        encoder: a ``conf/encoder`` name (``effnet_lite0``, ``inception_fid``, ``swin_tiny``...).
        source: the source that reads path inputs (default ``folder``).
        encoder_options: the encoder's options (``{"pretrained": False, "image_size": 64}``).
        out_dir: where report.json/md/html, CSVs and PNGs go; default: a temporary folder kept
            as long as the report (``report.save(dir)`` copies them).
        **options: ``conf/compare.yaml``'s options (``scores``, ``n_bootstrap``, ``device``,
            ``batch_size``, ``cache_dir``, ``seed``...); dotted keys (``"a.max_per_class"``)
            reach nested ones.

    Returns:
        The :class:`~semsim.report.Report` (``.to_dict()``, ``.save(dir)``, notebook display).

    Raises:
        TypeError: an unknown option or an input of a type that holds no images.
        ValueError: a bad value, path or image, naming the option (as the CLI's ``error:``).
    """
    from semsim.compare import compare as run_compare

    extra = _options(options, _allowed(("out_dir",)), "compare", ("a", "b", "encoder", "trainer"))
    lines, held = _inputs(a, b, source)
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="semsim-report-")
        out_dir = tmp.name
    lines += _encoder(encoder, encoder_options) + extra + [f"out_dir={_value(out_dir, 'out_dir')}"]
    cfg = _compose(lines, held)
    try:
        report = run_compare(cfg)
    finally:
        _release(cfg)
    if report is not None:
        report.meta["python_call"] = lines
        report.attach_files(Path(out_dir), keep=tmp)
    return report  # type: ignore[return-value]


def embed(
    images: Any,
    encoder: str = DEFAULT_ENCODER,
    *,
    source: str | None = None,
    encoder_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> Features:
    """Features of one collection, through the command's encoder and feature cache.

    Args:
        images: any input :func:`compare` takes as ``a``.
        encoder, source, encoder_options: as in :func:`compare`.
        **options: ``batch_size``, ``num_workers``, ``device``, ``precision``, ``channels_last``,
            ``cache_dir`` (default ``~/.cache/semsim`` or ``$SEMSIM_CACHE_DIR``; None: no
            cache), ``shard_size``, ``progress``; dotted ``"encoder.X"`` / ``"a.X"`` keys.

    Returns:
        :class:`~semsim.features.Features`: ``features`` ``(N, D)`` float32 in input order,
        ``labels``, ``class_names``, ``concepts`` (head logits) and ``provenance``.
    """
    from semsim.compare import build_collection, build_encoder
    from semsim.utils import check_compare_options

    extra = _options(options, list(EMBED_OPTIONS), "embed", ("a", "encoder"))
    lines, held = _inputs(images, None, source)
    lines += _encoder(encoder, encoder_options) + extra
    lines.append(f"out_dir={_value(tempfile.gettempdir(), 'out_dir')}")  # unused, but checked
    cfg = _compose(lines, held)
    try:
        check_compare_options(cfg)
        collection = build_collection(cfg.a, "a")
        spec = build_encoder(cfg.encoder)
    finally:
        _release(cfg)
    from semsim.features import extract_features

    return extract_features(collection, spec, **extract_options(cfg))


def extract_options(cfg: DictConfig) -> dict[str, Any]:
    """The keyword arguments of :func:`~semsim.features.extract_features` in a compare config."""

    def get(key: str, default: Any) -> Any:
        value = cfg.get(key, default)
        return default if value is None else value

    cache = cfg.get("cache_dir")
    shard = cfg.get("shard_size")
    return {
        "batch_size": int(get("batch_size", 64)),
        "num_workers": workers_value(get("num_workers", "auto")),
        "device": str(get("device", "auto")),
        "precision": str(get("precision", "32")),
        "channels_last": bool(get("channels_last", True)),
        "cache_dir": None if cache in (None, "", False) else Path(str(cache)).expanduser(),
        "progress": bool(get("progress", True)),
        "shard_size": None if shard is None else int(shard),
    }
