"""Streaming compare: collections too large to hold as feature matrices.

Each collection's features go shard by shard (:func:`semsim.features.extract_features` with
``keep=False``) into a :class:`~semsim.metrics.FeatureSummary` (running float64 sums for the
mean/covariance scores, every row) and a bounded uniform sample of ``sample_size`` rows kept with
their labels and concept logits. The sample is the ``sample_size`` rows with the smallest keys of
:func:`~semsim.metrics.streaming.uniform_keys` (a function of the seed and the row index alone:
the same rows whatever the shard size or number of processes, and the rows the summary's mergeable
reservoir keeps). The report's scores are :func:`~semsim.metrics.summary_scores` values (running
sums or the sample, as its registry entry says) where a score streams; every other score, the
intervals, noise floors, class matrices and the headline come from the sample, and
``sections["streaming"]`` states the sample sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from semsim.data.collection import ImageCollection
from semsim.encoders import EncoderSpec
from semsim.features import Embedded, Features, extract_features
from semsim.metrics import streaming_scores

STREAMING_CHOICES = ("auto", "true", "false")


def should_stream(
    option: Any, collections: dict[str, ImageCollection], spec: EncoderSpec, budget_gb: float
) -> tuple[bool, int]:
    """Whether to stream, and the bytes the float32 feature (+ concept) matrices would take."""
    value = str(option).lower()
    if value not in STREAMING_CHOICES:
        raise ValueError(f"streaming={option!r}: use one of {', '.join(STREAMING_CHOICES)}")
    d, c = spec.output_dims()
    need = sum(len(coll) for coll in collections.values()) * (d + c) * 4
    if value == "auto":
        return need > budget_gb * 2**30, need
    return value == "true", need


def sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """The ``min(size, n)`` row indices with the smallest uniform keys, ascending."""
    from semsim.metrics.streaming import uniform_keys

    keys = uniform_keys(torch.arange(n), seed).numpy()
    if size >= n:
        return np.arange(n)
    return np.sort(np.argpartition(keys, size - 1)[:size])


@dataclass
class Streamed:
    """One collection after a streaming pass: its summary and its sample as :class:`Features`."""

    summary: Any
    sample: Features
    rows: int


def stream_collection(
    coll: ImageCollection, spec: EncoderSpec, sample_size: int, seed: int, extract: dict[str, Any],
    trainer: Any = None,
) -> Streamed:  # fmt: skip
    """Embed ``coll`` shard by shard into a running summary and a bounded sample."""
    from semsim.metrics import FeatureSummary

    n = len(coll)
    idx = sample_indices(n, sample_size, seed)
    rank0 = trainer is None or trainer.global_rank == 0
    state: dict[str, Any] = {"summary": None, "feats": [], "concepts": [], "names": None}

    def on_shard(start: int, part: Embedded) -> None:
        if not rank0:
            return
        rows = len(part.features)
        if state["summary"] is None:
            state["summary"] = FeatureSummary(part.features.shape[1], sample_size, seed)
            for metric in (state["summary"].stats, state["summary"].sample):
                metric.sync_on_compute = False  # every process sees every row already
            state["names"] = part.concept_names
        state["summary"].update(torch.from_numpy(part.features), torch.arange(start, start + rows))
        lo, hi = np.searchsorted(idx, [start, start + rows])
        state["feats"].append(part.features[idx[lo:hi] - start])
        if part.concepts is not None:
            state["concepts"].append(part.concepts[idx[lo:hi] - start])

    out = extract_features(coll, spec, **extract, trainer=trainer, keep=False, on_shard=on_shard)
    if not rank0:
        return Streamed(None, out, n)
    labels = None if coll.labels is None else np.asarray(coll.labels)[idx]
    sample = Features(
        features=np.concatenate(state["feats"]),
        labels=labels,
        class_names=coll.class_names,
        attributes={k: (np.asarray(v)[idx], names) for k, (v, names) in coll.attributes.items()},
        provenance={**out.provenance, "sample": {"rows": int(len(idx)), "of": n, "seed": seed}},
        from_cache=out.from_cache,
        concepts=np.concatenate(state["concepts"]) if state["concepts"] else None,
        concept_names=state["names"] if state["concepts"] else None,
    )
    return Streamed(state["summary"], sample, n)


def summary_totals(a: Streamed, b: Streamed, scores: Sequence[str], seed: int) -> dict[str, float]:
    """``{registry name: value}`` of the streaming-capable ``scores`` from the two summaries
    (running sums over every row, or their bounded samples, as each registry entry says)."""
    from semsim.metrics import summary_scores

    names = [s for s in scores if s in streaming_scores()]
    full = summary_scores(a.summary, b.summary, scores=names, seed=seed) if names else {}
    return {s: float(full[s]) for s in names}


def streaming_section(report: Any, a: Streamed, b: Streamed) -> dict[str, Any]:
    """The report's ``streaming`` section: rows, sample sizes, and which values came from the
    summaries (the scores :func:`summary_totals` gave, marked ``streamed`` by the analysis)."""
    replaced = {k: s.value for k, s in report.scores.items() if s.extra.get("streamed")}
    return {
        "rows": {"a": a.rows, "b": b.rows},
        "sample_sizes": {"a": len(a.sample), "b": len(b.sample)},
        "summary_scores": replaced,
        "note": (
            "scores listed under summary_scores come from running float64 sums over every row "
            "(mean/covariance scores) or the bounded sample (k-NN, kernel scores); their "
            "intervals and noise floors, every other score, the class matrices and the headline "
            "are computed on the sample"
        ),
    }
