"""A-vs-B scores with intervals, noise floors and readings, and the headline they give.

Scores are computed once per metric *engine* (precision, recall, density and coverage come out of
one k-NN computation), and so are their resampling replicates. A score the data is too small for,
or whose input array (registry ``input``) the features lack, is recorded as skipped with its
reason, and the rest goes on. Everything about a score (its family, range, interval method,
reading, whether it is the headline) comes from its registry entry.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semsim import metrics
from semsim.analysis.intervals import HALF_SAMPLE_METHOD, engine_ci, half_sample_ci
from semsim.analysis.naming import (
    engine_groups,
    input_of,
    missing_input,
    report_name,
    resolve_scores,
)
from semsim.analysis.plan import check_n_bootstrap
from semsim.analysis.progress import Advance, Steps
from semsim.analysis.resample import Pooled, split_noise_floors, value_and_floors
from semsim.metrics import PairEngine, ScoreDef
from semsim.metrics._common import NO_INTERVAL
from semsim.report import Headline, ScoreResult


def score_entry(sdef: ScoreDef, value: float | None, **kw: Any) -> ScoreResult:
    """A :class:`ScoreResult` carrying the registry's facts about ``sdef``."""
    return ScoreResult(
        value=value,
        higher_is_more_similar=sdef.higher_is_more_similar,
        meaning=sdef.meaning,
        reference=sdef.paper or None,
        family=sdef.family,
        **kw,
    )


def skipped_entry(sdef: ScoreDef, reason: str) -> ScoreResult:
    """A score that was not computed, with the reason."""
    return score_entry(sdef, None, skipped=reason)


def _owner(key: str, engine_defs: Sequence[ScoreDef]) -> ScoreDef | None:
    """The score an engine output ``<score key>_<x>`` belongs to (longest key wins)."""
    best = None
    for d in engine_defs:
        if key.startswith(d.key + "_") and (best is None or len(d.key) > len(best.key)):
            best = d
    return best


def engine_entries(
    todo: list[tuple[ScoreDef, str]],
    xa: np.ndarray,
    xb: np.ndarray,
    n_boot: int,
    seed: int,
    level: float,
    advance: Advance,
    pooled: Pooled | None = None,
    timings: dict[str, float] | None = None,
    point: dict[str, float] | None = None,
) -> dict[str, ScoreResult]:
    """Every requested score of one engine: value, interval, side outputs and reading.

    Engine outputs are shared out by name: ``<key>_ci_low``/``_high`` are the interval of a
    score whose registry entry says its engine computes one; other ``<key>_<x>`` outputs are
    extras of that score; outputs that match no score of the engine are extras of all of them.
    ``point``: the engine's outputs on A vs B when already evaluated (:func:`_value_and_floors`).
    """
    engine = _engine(todo, seed)
    try:
        point = engine(xa, xb) if point is None else point
    except ValueError as e:
        return {name: skipped_entry(d, str(e)) for d, name in todo}
    advance(engine.name)
    factory = todo[0][0].engine
    engine_defs = [d for d in metrics.SCORES.values() if d.engine is factory]
    for d, _ in todo:
        if d not in engine_defs:
            engine_defs.append(d)
    keys = {d.key for d in engine_defs}
    out = {name: score_entry(d, point[d.key]) for d, name in todo}
    for k, v in point.items():
        if k in keys:
            continue
        owner = _owner(k, engine_defs)
        if (
            owner is not None
            and owner.interval
            and k
            in (
                f"{owner.key}_ci_low",
                f"{owner.key}_ci_high",
            )
        ):
            continue
        for d, name in todo:
            if owner is None or owner is d:
                out[name].extra[k] = v
    for d, name in todo:
        if d.interval:
            out[name].ci = engine_ci(d, point)
            out[name].extra["ci_method"] = d.interval
    boot = [(d, name) for d, name in todo if not d.interval]
    if n_boot and boot:
        defs = [d for d, _ in boot]
        try:
            if min(len(xa), len(xb)) // 2 < engine.min_n:
                raise ValueError(f"half of the smaller collection is under {engine.min_n} images")
            t0 = time.perf_counter()
            cis = half_sample_ci(engine, defs, point, xa, xb, n_boot, seed, level, advance, pooled)
            _add(timings, "intervals_s", time.perf_counter() - t0)
        except ValueError as e:
            for _, name in boot:
                out[name].extra["ci_skipped"] = str(e)
        else:
            for d, name in boot:
                out[name].ci = cis[d.key]
                out[name].extra["ci_method"] = f"{HALF_SAMPLE_METHOD}, {n_boot} resamples"
    for d, name in todo:
        if d.reading is not None:
            outputs = dict(point)
            if out[name].ci is None:  # the reading names why there is no interval
                outputs[NO_INTERVAL] = out[name].extra.get("ci_skipped") or (
                    "resampling is off (n_bootstrap=0)" if not n_boot else None
                )
            out[name].extra["reading"] = d.reading(point[d.key], out[name].ci, outputs)
    return out


def compare_scores(
    a: Any,
    b: Any,
    scores: Sequence[str] | None = None,
    *,
    encoder: Mapping[str, Any] | None = None,
    n_bootstrap: int = 50,
    noise_floor: bool = True,
    noise_floor_repeats: int = 3,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
    timings: dict[str, float] | None = None,
    totals: Mapping[str, float] | None = None,
) -> dict[str, ScoreResult]:
    """A-vs-B sub-scores with confidence intervals and noise floors.

    Intervals: the engine's own where the registry names one (``ScoreDef.interval``, e.g. the
    exact binomial interval of the C2ST accuracy), else the centred half-sample bootstrap
    (``n_bootstrap`` replicates, :func:`semsim.analysis.intervals.half_sample_ci`; 0 = none).
    Noise floor: :func:`semsim.metrics.noise_floor` (the score between two random splits of the
    pooled sample at the original sizes) for the scores the registry marks as divergences.

    Args:
        a: the reference collection: a feature set (:class:`~semsim.analysis.FeatureSet`; each
            score reads the array its registry ``input`` names) or a bare (N_a, D) feature array.
        b: the other collection, likewise.
        scores: registry names (``fd``/``fid``/``fd_<key>`` all mean the Fréchet distance);
            None = every registry score.
        encoder: encoder provenance (``key``, ``name``), used to name ``fd_<key>`` / ``fid``.
        n_bootstrap: half-sample replicates; 0 disables those intervals.
        noise_floor: compute noise floors.
        noise_floor_repeats: random splits averaged per noise floor.
        level: confidence level.
        seed: seed of resampling, splits and the C2ST folds.
        progress: show a rich progress bar.
        timings: filled with the seconds spent on the values (``values_s``), the half-sample
            intervals (``intervals_s``) and the noise floors (``noise_floors_s``).
        totals: ``{registry name: value}`` computed over more rows than ``a`` and ``b`` hold
            (streaming: running sums over every image, ``a``/``b`` being samples): the reported
            value; the sample's value is kept as ``sample_value`` (``streamed: true``), and the
            interval and noise floor stay the sample's.

    Returns:
        ``{report name: ScoreResult}`` in the order of ``scores``. A score the data cannot support
        has ``value`` None and ``skipped`` set to the reason.
    """
    check_n_bootstrap(n_bootstrap)
    encoder = encoder or {}
    defs = resolve_scores(scores)
    results: dict[str, ScoreResult] = {}
    head = metrics.headline_def()
    # the headline's engine first: its value and interval are the first answer on the console
    groups = sorted(engine_groups(defs), key=lambda g: head not in g)
    n_boot = n_bootstrap if n_bootstrap >= 2 else 0
    total = sum(1 + (n_boot if any(not d.interval for d in g) else 0) for g in groups)
    total += sum(1 for d in defs if d.noise_floor) if noise_floor else 0
    checked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pooled: dict[str, Pooled] = {}  # per input array: A's rows then B's, one Gram matrix
    spent: dict[str, float] = {"values_s": 0.0, "intervals_s": 0.0, "noise_floors_s": 0.0}
    steps = Steps(progress)
    with steps.task("A vs B scores", total) as advance:
        for group in groups:
            names = [report_name(d, encoder) for d in group]
            xa, xb = input_of(a, group[0]), input_of(b, group[0])
            if xa is None or xb is None:
                for d, name in zip(group, names, strict=True):
                    results[name] = skipped_entry(d, missing_input(d))
                advance(None)
                continue
            if group[0].input not in checked:
                metrics.as_features(xa, "a")
                metrics.as_features(xb, "b")
                if xa.shape[1] != xb.shape[1]:
                    raise ValueError(
                        f"a and b have different {group[0].input} dimensions: "
                        f"{xa.shape[1]} vs {xb.shape[1]}"
                    )
                checked[group[0].input] = (xa, xb)
            todo = []
            for d, name in zip(group, names, strict=True):
                if min(len(xa), len(xb)) < d.min_n:  # too few images for a defined value
                    results[name] = skipped_entry(
                        d,
                        f"needs at least {d.min_n} images in each collection, "
                        f"got {len(xa)} and {len(xb)}",
                    )
                else:
                    todo.append((d, name))
            if not todo:
                advance(None)
                continue
            if group[0].input not in pooled:
                pooled[group[0].input] = Pooled(xa, xb)
            pool = pooled[group[0].input]
            t0 = time.perf_counter()
            both = _value_and_floors(todo, pool, noise_floor_repeats, seed) if noise_floor else None
            point, floor_outs = both if both is not None else (None, None)
            results.update(engine_entries(todo, xa, xb, n_boot, seed, level, advance, pool, spent,
                                          point))  # fmt: skip
            _add(spent, "values_s", time.perf_counter() - t0)
            if noise_floor:
                t0 = time.perf_counter()
                _noise_floors(todo, results, pool, noise_floor_repeats, seed, advance, floor_outs)
                _add(spent, "noise_floors_s", time.perf_counter() - t0)
            if head in group and len(groups) > 1:
                steps.note(first_answer(report_name(head, encoder), results))
    spent["values_s"] -= spent["intervals_s"]  # engine_entries' time less its intervals
    if timings is not None:
        timings.update(spent)
    for sdef in defs:  # values over more rows than these features (the streaming sums)
        r = results[report_name(sdef, encoder)]
        if totals and sdef.name in totals and r.value is not None:
            r.extra = {**r.extra, "sample_value": r.value, "streamed": True}
            r.value = float(totals[sdef.name])
    order = [report_name(d, encoder) for d in defs]
    return {k: results[k] for k in order}


def first_answer(name: str, results: Mapping[str, ScoreResult]) -> str:
    """The console line giving the headline as soon as it is known, before the other scores."""
    r = results.get(name)
    if r is None or r.value is None:
        reason = "" if r is None else f" ({r.skipped})"
        return f"headline {name}: not available{reason}; the other scores follow"
    ci = f" [{r.ci[0]:.3g}, {r.ci[1]:.3g}]" if r.ci is not None else ""
    return f"headline {name} = {r.value:.3g}{ci}; the other scores follow"


def _add(timings: dict[str, float] | None, key: str, seconds: float) -> None:
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + seconds


def _engine(todo: list[tuple[ScoreDef, str]], seed: int) -> PairEngine:
    """The engine of one group of scores, built with ``seed`` where the registry says so."""
    factory = todo[0][0].engine
    return factory(seed=seed) if todo[0][0].seeded else factory()


def _value_and_floors(
    todo: list[tuple[ScoreDef, str]], pool: Pooled, repeats: int, seed: int
) -> tuple[dict[str, float], list[dict[str, float]]] | None:
    """The engine's value and its noise floors' evaluations in one batched call
    (:func:`~semsim.analysis.resample.value_and_floors`: the C2ST's fits on the same pooled
    rows), where the floors want them from the same engine (the floors use its defaults: a
    seeded engine only when ``seed`` is its default); None: evaluated apart, as before."""
    if not any(d.noise_floor for d, _ in todo):
        return None
    factory = todo[0][0].engine
    if todo[0][0].seeded:
        default = inspect.signature(factory).parameters.get("seed")
        if default is None or default.default != seed:
            return None
    try:
        return value_and_floors(pool, _engine(todo, seed), repeats, seed)
    except ValueError:  # the engine's own error: evaluated apart, where it is reported
        return None


def _noise_floors(
    todo: list[tuple[ScoreDef, str]],
    results: dict[str, ScoreResult],
    pool: Pooled,
    repeats: int,
    seed: int,
    advance: Advance,
    outs: list[dict[str, float]] | None = None,
) -> None:
    """Noise floors of the divergences of one engine (:func:`semsim.metrics.noise_floor`'s
    splits and engine defaults, one evaluation per split for all of them; ``outs``: those
    evaluations, made already)."""
    wanted = [(d, name) for d, name in todo if d.noise_floor and results[name].skipped is None]
    if wanted:
        try:  # as ScoreDef.compute: the engine with its defaults
            floors = split_noise_floors(
                pool, wanted[0][0].engine(), [d.key for d, _ in wanted], repeats, seed, outs
            )
        except ValueError as e:
            for _, name in wanted:
                results[name].extra["noise_floor_skipped"] = str(e)
        else:
            for d, name in wanted:
                results[name].noise_floor = floors[d.key]
    for d, name in todo:
        if d.noise_floor:
            advance(f"noise floor ({name})")


def headline(
    scores: Mapping[str, ScoreResult],
    encoder: Mapping[str, Any] | None = None,
    flag: str = "headline",
) -> Headline | None:
    """The headline ``similarity`` (``flag="headline"``) or ``appearance``
    (``flag="appearance_headline"``): the first registry entry so marked that has a value in
    ``scores`` (None when there is none)."""
    for sdef in metrics.SCORES.values():
        if not getattr(sdef, flag):
            continue
        s = scores.get(report_name(sdef, encoder or {}))
        if s is None or s.value is None:
            continue
        reading = s.extra.get("reading")
        if reading is None:
            reading = metrics.describe_similarity(s.value, s.ci, s.extra.get("p_value"))
        return Headline(
            value=float(s.value),
            ci=s.ci,
            basis=sdef.name,
            definition=sdef.meaning,
            reading=str(reading),
        )
    return None
