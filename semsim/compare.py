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
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from semsim.stages.resolve import build_collection, build_encoder, resolve
from semsim.utils import cli_errors

if TYPE_CHECKING:  # imported where used: `python -m semsim.compare --help` or a typo needs no torch
    from semsim.report import Report

__all__ = ["build_collection", "build_encoder", "compare", "main", "task"]


def compare(cfg: DictConfig) -> Report | None:
    """Run a comparison described by a composed ``conf/compare.yaml`` and write its report.

    The stages of :mod:`semsim.stages`, in order: resolve (every check, before any image is
    read) -> embed -> analyse -> enrich -> write. With ``trainer=...`` (e.g. ``trainer=ddp
    trainer.devices=4``) every process embeds its share of each collection through Lightning and
    rank 0 alone scores and writes the report.

    Returns:
        The :class:`~semsim.report.Report` that was written to ``cfg.out_dir`` (None on the other
        processes of a multi-process run).

    Raises:
        ValueError: bad input or options (``CollectionError`` for data problems), one line each.
    """
    from rich.console import Console

    console = Console(stderr=True)
    t0 = time.perf_counter()
    run = resolve(cfg, console.log)

    from semsim.evidence import thumbnail_loader
    from semsim.report import print_summary
    from semsim.stages.analyse import analyse_run
    from semsim.stages.embed import embed
    from semsim.stages.enrich import enrich
    from semsim.stages.write import assemble, run_meta, write_files

    embedded = embed(run, console)
    if embedded is None:
        return None  # another process of a multi-process run: rank 0 writes the report
    analysed = analyse_run(run, embedded)
    enrichment = enrich(run, embedded, analysed)
    meta = run_meta(embedded.seconds, time.perf_counter() - t0, run.overrides)
    report = assemble(analysed, enrichment, meta)
    if "b" in run.collections:
        from semsim.analysis.trust import say_shared_images

        say_shared_images(report, report.inputs, console.log)  # a note when A and B share images
    colls = run.collections
    files = write_files(report, run.options.out_dir, thumbnail_loader(colls["a"], colls.get("b")))
    print_summary(report)
    console.log(f"report written to {files['report.md']} and {files['report.html']}")
    return report


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
