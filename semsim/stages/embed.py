"""Stage 2, embed: a :class:`~semsim.stages.resolve.Run` -> the features of every collection.

Held in memory (:class:`~semsim.features.Features`, cached on disk by provenance) or, when
streaming, a running summary plus a bounded sample per collection
(:class:`~semsim.scale.Streamed`). With a trainer every process embeds its share and only rank 0
goes on (the other processes get None).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from semsim.stages.resolve import Run


@dataclass(frozen=True)
class Embedded:
    """Features of each collection (``"a"``, ``"b"``): every row, or the streaming sample."""

    features: dict[str, Any]
    streamed: dict[str, Any] | None  # streaming: the summaries (Streamed), else None
    seconds: float


def _embed_all(
    run: Run, trainer: Any, console: Any, sidecars: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Features (or streamed summaries) of every collection on this process; ``sidecars``:
    each collection's pixel pass, made during its embedding (:class:`PixelSidecar`)."""
    from semsim.features import extract_features
    from semsim.scale import stream_collection

    opts = run.options
    extract = opts.extract_kwargs(multi_process=trainer is not None)
    rank0 = trainer is None or trainer.global_rank == 0
    extract["progress"] = opts.progress and rank0
    out: dict[str, Any] = {}
    for which, coll in run.collections.items():
        if opts.streaming:
            out[which] = stream_collection(
                coll, run.encoder, opts.sample_size, opts.seed, extract, trainer
            )
            continue
        if rank0:
            console.log(
                f"{which.upper()}: {coll.name} ({len(coll)} images) -> {run.encoder.key} features"
            )
        out[which] = extract_features(coll, run.encoder, **extract, trainer=trainer,
                                      sidecar=(sidecars or {}).get(which))  # fmt: skip
        if out[which].from_cache and rank0:
            console.log(f"{which.upper()}: features loaded from the cache")
    return out


def _wants_views(run: Run) -> bool:
    """Whether a score of the run reads the content view or the rendering statistics."""
    from semsim.metrics import SCORES

    wanted = {*run.options.scores, *run.options.matrix_scores}
    return any(d.input in ("content", "rendering") for n, d in SCORES.items() if n in wanted)


def _content_views(
    run: Run, got: dict[str, Any], console: Any, collections: dict[str, Any] | None = None,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Rendering statistics and content features (the pair's common rendering) of every
    collection, for the content and appearance headlines (:mod:`semsim.features.content`).
    ``collections``: the images behind ``got``'s rows (default: the run's collections);
    ``given``: pixel statistics made during the plain pass, by collection."""
    from semsim.features.content import content_views

    if not _wants_views(run):
        return got  # no score reads the views: no second pass
    extract = run.options.extract_kwargs(multi_process=False)
    extract["progress"] = run.options.progress
    colls = collections or run.collections
    return content_views(colls, got, run.encoder, extract, console, given)


def _sample_content_views(run: Run, got: dict[str, Any], console: Any) -> None:
    """Streaming: the content view of each collection's bounded sample (the rows the sample
    scores read), attached to the sample in place."""
    from semsim.data.collection import Subset
    from semsim.scale import sample_indices

    opts = run.options
    subsets = {
        w: Subset(c, sample_indices(len(c), opts.sample_size, opts.seed))
        for w, c in run.collections.items()
    }
    viewed = _content_views(run, {w: s.sample for w, s in got.items()}, console, subsets)
    for w, s in got.items():
        s.sample = viewed[w]


def embed(run: Run, console: Any) -> Embedded | None:
    """Embed every collection of ``run`` (None on the processes other than rank 0)."""
    from semsim.features import run_on_trainer

    if run.options.streaming:
        console.log(
            f"streaming: features would take {run.feature_bytes / 2**30:.1f} GiB; running sums "
            f"+ a sample of {run.options.sample_size} rows per collection"
        )
    t0 = time.perf_counter()
    sidecars: dict[str, Any] = {}
    if run.trainer is None:
        if not run.options.streaming and _wants_views(run):
            from semsim.features.content import PixelSidecar

            # the pixel pass rides on the plain pass (each image decoded and resized once)
            sidecars = {w: PixelSidecar(run.encoder) for w in run.collections}
        got = _embed_all(run, None, console, sidecars)
    else:
        got = run_on_trainer(run.trainer, lambda trainer: _embed_all(run, trainer, console))
        if run.trainer.global_rank != 0:
            return None  # rank 0 scores and writes
    # the content view of each collection; under a trainer rank 0 alone makes it, after the
    # processes shared the plain pass (one process on its own device: the view is a second pass
    # of every image, or of the streaming sample, not split across the processes)
    if run.options.streaming:
        _sample_content_views(run, got, console)
    else:
        given = {w: sc.result(len(run.collections[w])) for w, sc in sidecars.items()}
        got = _content_views(run, got, console, given=given)
    seconds = time.perf_counter() - t0
    if not run.options.streaming:
        return Embedded(got, None, seconds)
    return Embedded({w: s.sample for w, s in got.items()}, got, seconds)
