"""Stage 3, analyse: the embedded collections -> a :class:`~semsim.report.Report`.

Scores with intervals and noise floors, class matrices, the headline and the Method text
(:func:`semsim.analysis.analyse`). When streaming, the streaming scores' values over every row
(:func:`semsim.scale.summary_totals`) go in as ``totals``, so the report is built with them.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from semsim.report import Report
from semsim.stages.embed import Embedded
from semsim.stages.resolve import Run


def describe_input(coll: Any, node: DictConfig, feats: Any) -> dict[str, Any]:
    """The report's ``inputs`` entry of one collection: its description, source and cache use."""
    from semsim.data.sources.registry import source_name

    source = OmegaConf.to_container(node, resolve=True)
    assert isinstance(source, dict)
    out = coll.describe()
    out["source"] = {k: v for k, v in source.items() if k not in ("_target_", "_args_")}
    out["source"]["kind"] = source_name(source)  # (a generated config names it in _args_)
    out["fingerprint"] = coll.fingerprint()
    out["features_from_cache"] = feats.from_cache
    rows = getattr(feats, "sample", feats)  # streaming: the sample carries the content view
    view = (getattr(rows, "provenance", None) or {}).get("content_view")
    if view is not None:  # what the content headline read: the pair's common rendering
        out["content_view"] = view
    return out


def encoder_entry(run: Run, emb: Embedded) -> dict[str, Any]:
    """The report's ``encoder`` entry: the spec's provenance and the feature size."""
    return {**run.encoder.provenance(), "dim": int(emb.features["a"].features.shape[1])}


def analyse_run(run: Run, emb: Embedded) -> Report:
    """The A-vs-B (or class x class) report of ``run``'s embedded collections."""
    from semsim.analysis import analyse
    from semsim.scale import summary_totals

    opts = run.options
    feats, colls = emb.features, run.collections
    totals = None
    if emb.streamed is not None:
        totals = summary_totals(emb.streamed["a"], emb.streamed["b"], opts.scores, opts.seed)
    b = colls.get("b")
    return analyse(
        feats["a"],
        feats.get("b"),
        encoder=encoder_entry(run, emb),
        inputs={w: describe_input(colls[w], run.sources[w], feats[w]) for w in colls},
        scores=list(opts.scores),
        matrix_scores=list(opts.matrix_scores),
        class_matrices=opts.class_matrices,
        n_bootstrap=opts.n_bootstrap,
        noise_floor=opts.noise_floor,
        seed=opts.seed,
        progress=opts.progress,
        title=(
            f"semsim: {colls['a'].name} vs {b.name}"
            if b is not None
            else f"semsim: class x class similarity of {colls['a'].name}"
        ),
        totals=totals,
    )
