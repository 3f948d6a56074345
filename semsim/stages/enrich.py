"""Stage 4, enrich: what a report carries beside its scores, as new sections.

Evidence galleries, the duplicates shared by A and B (with the A-vs-B values again without B's
copies) and, when streaming, the streaming section. Returns plain ``sections`` and ``meta``
entries; the report it reads is left as it is (the write stage assembles the final one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from semsim.report import Report
from semsim.stages.embed import Embedded
from semsim.stages.resolve import Run

STREAMING_NO_EVIDENCE = (
    "streaming mode keeps a sample of the features, not every image: no galleries"
)


@dataclass(frozen=True)
class Enrichment:
    """Sections and meta entries to add to a report."""

    sections: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def evidence_sections(a: Any, b: Any, coll_a: Any, coll_b: Any, seed: int) -> Enrichment:
    """:func:`semsim.evidence.attach_evidence` (galleries; with B, the cross duplicates) as
    new sections and meta entries (``evidence_s``)."""
    from semsim.evidence import attach_evidence

    scratch = SimpleNamespace(sections={}, meta={})
    attach_evidence(scratch, a, b, coll_a, coll_b, seed=seed)
    return Enrichment(scratch.sections, scratch.meta)


def scores_without_duplicates(run: Run, report: Report, a: Any, b: Any, dups: dict) -> dict:
    """The A-vs-B values again without B's copies of A images (values only, as report.html shows
    them: no intervals or noise floors, which would double the time of a first answer)."""
    from semsim.analysis import compare_scores
    from semsim.analysis.trust import guard_scores
    from semsim.evidence import without_duplicates

    clean = compare_scores(
        a, without_duplicates(b, dups), list(run.options.scores), encoder=report.encoder,
        n_bootstrap=0, noise_floor=False, seed=run.options.seed,
    )  # fmt: skip
    guard_scores(clean, 0)  # held to the registry ranges, as the main scores are
    return {k: v.to_dict() for k, v in clean.items()}


def enrich(run: Run, emb: Embedded, report: Report) -> Enrichment:
    """The sections ``report`` gets beside its scores (it is not modified)."""
    from semsim import scale

    if emb.streamed is not None:
        streaming = scale.streaming_section(report, emb.streamed["a"], emb.streamed["b"])
        return Enrichment({"streaming": streaming, "evidence": {"skipped": STREAMING_NO_EVIDENCE}})
    feats, colls = emb.features, run.collections
    got = evidence_sections(
        feats["a"], feats.get("b"), colls["a"], colls.get("b"), run.options.seed
    )
    dups = got.sections.get("duplicates") or {}
    if dups.get("b_indices") and len(dups["b_indices"]) < len(feats["b"].features):
        clean = scores_without_duplicates(run, report, feats["a"], feats["b"], dups)
        dups = {**dups, "scores_without_duplicates": clean}
        return Enrichment({**got.sections, "duplicates": dups}, got.meta)
    return got
