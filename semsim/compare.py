"""Compare image collections with a frozen encoder: ``python -m semsim.compare a=... b=...``.

- ``a`` alone (labelled): the class x class matrices of A.
- ``a`` and ``b``: the A-vs-B sub-scores with intervals, noise floors and the headline
  ``similarity``; plus A-classes x B-classes matrices when both are labelled.

Writes ``report.json``, ``report.md`` and a CSV + PNG per matrix into ``out_dir`` (default: the
Hydra run folder ``outputs/compare/<date_time>``). Every option is a Hydra override; see
``conf/compare.yaml``. Examples::

    python -m semsim.compare a=cifar10 a.root=../shared/data/cifar10 a.max_per_class=200
    python -m semsim.compare a=cifake a.root=DIR a.kinds=[REAL] b=cifake b.root=DIR b.kinds=[FAKE]
    python -m semsim.compare a=folder a.root=imgs/A b=folder b.root=imgs/B encoder=dinov2_vits14
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from semsim import __version__
from semsim.utils import check_compare_options, cli_errors, one_line

if TYPE_CHECKING:  # imported where used: `python -m semsim.compare --help` or a typo needs no torch
    from semsim.data.collection import ImageCollection
    from semsim.encoders import EncoderSpec
    from semsim.features import Features
    from semsim.report import Report


def _instantiate(node: DictConfig, what: str) -> Any:
    """``hydra.utils.instantiate`` with the underlying error surfaced as a one-line ValueError."""
    import hydra
    from hydra.errors import InstantiationException

    try:
        return hydra.utils.instantiate(node, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, (ValueError, TypeError, OSError)):
            raise ValueError(f"{what}: {one_line(cause)}") from cause
        raise ValueError(f"{what}: {one_line(e)}") from e
    except OmegaConfBaseException as e:
        raise ValueError(f"{what}: {one_line(e)}") from e


def build_collection(node: DictConfig, which: str) -> ImageCollection:
    """Instantiate collection ``which`` (``"a"``/``"b"``) from its config node."""
    from semsim.data.collection import ImageCollection

    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ValueError(
            f"{which}: expected a collection config (e.g. {which}=cifar10 {which}.root=PATH), "
            f"got {node!r}"
        )
    coll = _instantiate(node, which)
    if not isinstance(coll, ImageCollection):
        raise ValueError(
            f"{which}: {node._target_} returned {type(coll).__name__}, not a collection"
        )
    if len(coll) == 0:
        raise ValueError(f"{which}: collection {coll.name!r} holds no images")
    return coll


def build_encoder(node: DictConfig) -> EncoderSpec:
    """Instantiate the encoder spec and resolve its weights' provenance (fails fast offline)."""
    from semsim.encoders import EncoderSpec

    spec = _instantiate(node, "encoder")
    if not isinstance(spec, EncoderSpec):
        raise ValueError(f"encoder: expected an EncoderSpec, got {type(spec).__name__}")
    return spec


def _option(cfg: DictConfig, key: str, default: Any) -> Any:
    value = cfg.get(key, default)
    return default if value is None else value


def _cache_dir(cfg: DictConfig) -> Path | None:
    value = cfg.get("cache_dir")
    if value in (None, "", False):
        return None
    return Path(str(value)).expanduser()


def _overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def _describe(coll: ImageCollection, node: DictConfig, feats: Features) -> dict[str, Any]:
    from semsim.data.sources.registry import source_name

    source = OmegaConf.to_container(node, resolve=True)
    assert isinstance(source, dict)
    out = coll.describe()
    out["source"] = {k: v for k, v in source.items() if k not in ("_target_", "_args_")}
    out["source"]["kind"] = source_name(source)
    out["fingerprint"] = coll.fingerprint()
    out["features_from_cache"] = feats.from_cache
    return out


_TRAINER_KEYS = ("accelerator", "devices", "strategy", "num_nodes")


def _trainer(node: DictConfig | None, precision: str) -> Any:
    """A Lightning trainer from the optional ``trainer`` group (``trainer=ddp trainer.devices=4``):
    only its process options are used; the encoder's precision is compare's ``precision``."""
    if node is None:
        return None
    from semsim.features import make_trainer, normalize_precision

    kwargs = {k: node[k] for k in _TRAINER_KEYS if k in node and node[k] is not None}
    kwargs = OmegaConf.to_container(OmegaConf.create(kwargs), resolve=True)
    assert isinstance(kwargs, dict)
    try:
        return make_trainer(
            **kwargs, precision=_LIGHTNING_PRECISION[normalize_precision(precision)]
        )
    except (ValueError, TypeError, RuntimeError) as e:
        raise ValueError(f"trainer: {one_line(e)}") from e


_LIGHTNING_PRECISION = {"32": "32-true", "bf16": "bf16-mixed", "16": "16-mixed"}


def _embed_all(
    collections: dict[str, ImageCollection],
    spec: EncoderSpec,
    extract: dict[str, Any],
    trainer: Any,
    console: Any,
) -> dict[str, Features]:
    """Features of every collection (on every process of ``trainer`` when one is given)."""
    from semsim.features import extract_features

    rank0 = trainer is None or trainer.global_rank == 0
    feats: dict[str, Features] = {}
    for which, coll in collections.items():
        if rank0:
            console.log(f"{which.upper()}: {coll.name} ({len(coll)} images) -> {spec.key} features")
        feats[which] = extract_features(
            coll, spec, **{**extract, "progress": extract["progress"] and rank0}, trainer=trainer
        )
        if feats[which].from_cache and rank0:
            console.log(f"{which.upper()}: features loaded from the cache")
    return feats


def compare(cfg: DictConfig) -> Report | None:
    """Run a comparison described by a composed ``conf/compare.yaml`` and write its report.

    With ``trainer=...`` (e.g. ``trainer=ddp trainer.devices=4``) every process embeds its share
    of each collection through Lightning and rank 0 alone scores and writes the report.

    Returns:
        The :class:`~semsim.report.Report` that was written to ``cfg.out_dir`` (None on the other
        processes of a multi-process run).

    Raises:
        ValueError: bad input or options (``CollectionError`` for data problems), one line each.
    """
    from rich.console import Console

    from semsim.analysis.plan import plan_matrices  # light: the metrics (torch) come later

    console = Console(stderr=True)
    t0 = time.perf_counter()
    # seed, batch_size, num_workers, n_bootstrap, device, image_size, out_dir, cache_dir
    for note in check_compare_options(cfg):
        console.log(note)
    seed = int(_option(cfg, "seed", 0))
    class_matrices = _option(cfg, "class_matrices", "auto")
    n_bootstrap = int(_option(cfg, "n_bootstrap", 50))
    if n_bootstrap < 0 or n_bootstrap == 1:
        raise ValueError(f"n_bootstrap must be 0 (no intervals) or >= 2, got {n_bootstrap}")
    try:
        out_dir = Path(str(cfg.out_dir)).expanduser()
    except OmegaConfBaseException as e:
        raise ValueError(f"out_dir: {one_line(e)} (set out_dir=DIR)") from e
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir: {out_dir} exists and is not a folder")

    from semsim.guards import build_inputs  # out_dir left out of the inputs, notes said

    coll_a, coll_b = build_inputs(cfg, out_dir, build_collection, console.log)
    # decide now whether there is anything to do, before the slow feature extraction
    plan_matrices(
        a_labelled=coll_a.is_labelled,
        b_given=coll_b is not None,
        b_labelled=coll_b is not None and coll_b.is_labelled,
        class_matrices=class_matrices,
    )
    # a bad path or option has been answered by now without torch; the rest needs it
    from semsim import scale
    from semsim.analysis import analyse, report_name, score_names
    from semsim.features import run_on_trainer
    from semsim.report import print_summary, write_report

    scores = score_names(cfg.get("scores"))  # null: every registry score; unknown names fail now
    matrix_scores = cfg.get("matrix_scores")
    matrix_scores = scores if matrix_scores is None else score_names(list(matrix_scores))
    spec = build_encoder(cfg.encoder)
    encoder_info = spec.provenance()

    progress = bool(_option(cfg, "progress", True))
    shard_size = cfg.get("shard_size")
    extract = {
        "batch_size": int(_option(cfg, "batch_size", 64)),
        "num_workers": int(_option(cfg, "num_workers", 2)),
        "device": str(_option(cfg, "device", "auto")),
        "precision": str(_option(cfg, "precision", "32")),
        "channels_last": bool(_option(cfg, "channels_last", True)),
        "cache_dir": _cache_dir(cfg),
        "progress": progress,
        "shard_size": None if shard_size is None else int(shard_size),
    }
    collections = {"a": coll_a} if coll_b is None else {"a": coll_a, "b": coll_b}
    streaming, need = scale.should_stream(
        _option(cfg, "streaming", "false"),
        collections,
        spec,
        float(_option(cfg, "memory_budget_gb", 8.0)),
    )
    sample_size = int(_option(cfg, "sample_size", 10000))
    if streaming:
        if coll_b is None:
            raise ValueError("streaming: needs two collections (a and b)")
        console.log(
            f"streaming: features would take {need / 2**30:.1f} GiB; running sums + a sample of "
            f"{sample_size} rows per collection"
        )

    def embed_all(trainer: Any) -> dict[str, Any]:
        if streaming:
            return {
                w: scale.stream_collection(c, spec, sample_size, seed, extract, trainer)
                for w, c in collections.items()
            }
        return _embed_all(collections, spec, extract, trainer, console)

    t_feat = time.perf_counter()
    trainer = _trainer(cfg.get("trainer"), extract["precision"])
    if trainer is None:
        feats = embed_all(None)
    else:
        extract["device"] = None  # the trainer's device for each process
        feats = run_on_trainer(trainer, embed_all)
        if trainer.global_rank != 0:
            return None  # rank 0 writes the report
    streamed = feats if streaming else None
    if streamed is not None:
        feats = {w: s.sample for w, s in streamed.items()}
    features_s = time.perf_counter() - t_feat
    encoder_info["dim"] = int(feats["a"].features.shape[1])

    inputs = {"a": _describe(coll_a, cfg.a, feats["a"])}
    if coll_b is not None:
        inputs["b"] = _describe(coll_b, cfg.b, feats["b"])
    report = analyse(
        feats["a"],
        feats.get("b"),
        encoder=encoder_info,
        inputs=inputs,
        scores=scores,
        matrix_scores=matrix_scores,
        class_matrices=class_matrices,
        n_bootstrap=n_bootstrap,
        noise_floor=bool(_option(cfg, "noise_floor", True)),
        seed=seed,
        progress=progress,
        title=(
            f"semsim: {coll_a.name} vs {coll_b.name}"
            if coll_b is not None
            else f"semsim: class x class similarity of {coll_a.name}"
        ),
    )
    if streamed is not None:
        scale.apply_summary_scores(
            report, streamed["a"], streamed["b"], scores,
            lambda name: report_name(name, encoder_info), {"seed": seed},
        )  # fmt: skip
        report.sections["evidence"] = {
            "skipped": "streaming mode keeps a sample of the features, not every image: no galleries"
        }
    else:
        _evidence(report, feats, coll_a, coll_b, seed, dict(
            encoder=encoder_info, scores=scores, n_bootstrap=n_bootstrap, seed=seed,
            noise_floor=bool(_option(cfg, "noise_floor", True)), class_matrices=False,
        ))  # fmt: skip
    if coll_b is not None:
        from semsim.analysis.trust import say_shared_images

        say_shared_images(report, inputs, console.log)
    import torch

    report.meta.update(
        {
            "features_s": round(features_s, 2),
            "total_s": round(time.perf_counter() - t0, 2),
            "overrides": _overrides(),
            "semsim": __version__,
            "torch": torch.__version__,
        }
    )
    files = write_report(report, out_dir)
    from semsim.evidence import thumbnail_loader
    from semsim.report.html import write_html

    files["report.html"] = write_html(report, out_dir, thumbnail_loader(coll_a, coll_b))
    print_summary(report)
    console.log(f"report written to {files['report.md']} and {files['report.html']}")
    return report


def _evidence(report: Report, feats: dict, coll_a: Any, coll_b: Any, seed: int, opts: dict) -> None:
    """Evidence galleries and cross duplicates into ``report.sections``; with duplicates shared by
    A and B, the A-vs-B score values again without B's copies (``sections.duplicates``; values
    only, as report.html shows them: no intervals or noise floors, which would double the time
    of a first answer)."""
    from semsim.analysis import analyse
    from semsim.evidence import attach_evidence, without_duplicates

    attach_evidence(report, feats["a"], feats.get("b"), coll_a, coll_b, seed=seed)
    dups = report.sections.get("duplicates") or {}
    if dups.get("b_indices") and len(dups["b_indices"]) < len(feats["b"].features):
        opts = {**opts, "n_bootstrap": 0, "noise_floor": False}
        clean = analyse(feats["a"], without_duplicates(feats["b"], dups), **opts)
        dups["scores_without_duplicates"] = {k: v.to_dict() for k, v in clean.scores.items()}


@cli_errors
def task(cfg: DictConfig) -> None:
    """Hydra task: bad input or options end with ``error: ...`` on stderr and exit status 2."""
    compare(cfg)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI (``semsim compare`` / ``python -m semsim.compare``): overrides are checked first."""
    from semsim.cli import run_hydra

    run_hydra("compare", argv, task)


if __name__ == "__main__":
    main()


class _CallableModule(types.ModuleType):
    """This module is also the Python call: ``semsim.compare(a, b, ...)`` is
    :func:`semsim.api.compare` (a submodule import rebinds ``semsim.compare`` to the module, so
    the module itself must be the callable)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        from semsim.api import compare as python_compare

        return python_compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
