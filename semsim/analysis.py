"""Features -> :class:`~semsim.report.Report`: runs the metrics and assembles the report.

This is the one place that joins :mod:`semsim.metrics` and :mod:`semsim.report`; ``semsim.compare``
and the Lightning callbacks both call :func:`analyse` (or its two halves, :func:`compare_scores`
and :func:`class_matrix_results`) and then :func:`semsim.report.write_report`.

Scores are computed once per metric *engine* (precision, recall, density and coverage come out of
one k-NN computation), and so are their resampling replicates. A score the data is too small for is
recorded as skipped with its reason, and the rest goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol

import numpy as np

from semsim import metrics
from semsim.metrics import ScoreDef
from semsim.report import Headline, MatrixResult, Report, ScoreResult
from semsim.report.headline import headline_from_c2st, similarity_from_accuracy

DEFAULT_SCORES: tuple[str, ...] = tuple(metrics.SCORES)
"""Registry names computed by default, in report order (``fd`` is reported as ``fd_<key>``)."""

SIMILARITY_MATRIX_MEANING = (
    "1 - max(0, 2 acc - 1) of the class pair's C2ST: share of the two classes' feature "
    "distributions that overlap (1 = indistinguishable)"
)

ClassMatrices = Literal["auto"] | bool


class FeatureSet(Protocol):
    """What :func:`analyse` needs of one collection (:class:`semsim.features.Features` fits)."""

    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None


class _Steps:
    """Optional rich progress bar; a no-op when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.progress = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[str | None], None]]:
        if self.progress is None:
            yield lambda _desc=None: None
            return
        with self.progress:
            tid = self.progress.add_task(description, total=total)

            def advance(desc: str | None = None) -> None:
                self.progress.update(tid, advance=1, description=desc or description)

            yield advance
            self.progress.update(tid, description=description)


# --- names --------------------------------------------------------------------------------------
def fd_score_name(encoder: Mapping[str, Any]) -> str:
    """The encoder provenance's ``fd_name`` (``fid`` for the official FID weights, set by the
    encoder registry), else ``fd_<encoder key>``."""
    return str(encoder.get("fd_name") or f"fd_{encoder.get('key') or 'encoder'}")


def report_name(score: str, encoder: Mapping[str, Any]) -> str:
    """The name a registry score has in a report (``fd`` -> ``fd_<key>`` or ``fid``)."""
    return fd_score_name(encoder) if metrics.get_score(score).name == "fd" else score


def resolve_scores(scores: Sequence[str]) -> list[ScoreDef]:
    """Registry definitions of ``scores`` (duplicates dropped).

    Raises:
        ValueError: an unknown name or an empty list.
    """
    if isinstance(scores, str):
        raise ValueError(f"scores must be a list of score names, got the string {scores!r}")
    out: list[ScoreDef] = []
    for s in scores:
        sdef = metrics.get_score(str(s))  # ValueError naming the unknown score
        if sdef not in out:
            out.append(sdef)
    if not out:
        raise ValueError("scores: the list of scores is empty")
    return out


def _engine_groups(defs: Sequence[ScoreDef]) -> list[list[ScoreDef]]:
    """Scores grouped by engine factory, in order of first appearance."""
    groups: dict[Any, list[ScoreDef]] = {}
    for d in defs:
        groups.setdefault(d.engine, []).append(d)
    return list(groups.values())


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


# --- A vs B scores ------------------------------------------------------------------------------
def _score_entry(sdef: ScoreDef, value: float | None, **kw: Any) -> ScoreResult:
    return ScoreResult(
        value=value,
        higher_is_more_similar=sdef.higher_is_more_similar,
        meaning=sdef.meaning,
        reference=sdef.paper or None,
        **kw,
    )


def _skipped(sdef: ScoreDef, reason: str) -> ScoreResult:
    return ScoreResult.skip(reason, sdef.higher_is_more_similar, sdef.meaning, sdef.paper or None)


# Value range of each score, to clip interval ends that centring pushed outside it.
_RANGES: dict[str, tuple[float, float]] = {
    "prototype_cosine": (-1.0, 1.0),
    "fd": (0.0, np.inf),
    "cmmd": (0.0, np.inf),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "density": (0.0, np.inf),
    "coverage": (0.0, 1.0),
}

CI_METHOD = "centred half-sample bootstrap"


def _half_sample_ci(
    engine: metrics.PairEngine,
    defs: Sequence[ScoreDef],
    point: Mapping[str, float],
    xa: np.ndarray,
    xb: np.ndarray,
    n: int,
    seed: int,
    level: float,
    advance: Callable[[str | None], None],
) -> dict[str, tuple[float, float]]:
    """Confidence intervals of every score of one engine by centred half-sampling.

    Each of the ``n`` replicates draws half of A's rows and half of B's rows *without*
    replacement and evaluates the engine once. Half-sampling without replacement reproduces the
    sampling variance of the full-size estimate (the delete-d jackknife with d = n/2, Shao & Wu
    1989), and unlike the with-replacement bootstrap it never duplicates a row; duplicates bias the
    k-NN scores (zero distances) and the Fréchet/kernel scores (a resample holds ~63% distinct
    rows). Half-size estimates carry a larger finite-sample bias, so the replicates are centred:
    the interval is ``value + quantiles(replicate - mean(replicates))`` at ``(1 -/+ level) / 2``,
    clipped to the score's range. The bias itself is what the noise floor shows.
    """
    rng = np.random.default_rng(seed)
    half_a, half_b = len(xa) // 2, len(xb) // 2
    reps = {d.key: np.empty(n) for d in defs}
    for i in range(n):
        ia = np.sort(rng.choice(len(xa), half_a, replace=False))
        ib = np.sort(rng.choice(len(xb), half_b, replace=False))
        out = engine(xa[ia], xb[ib])
        for d in defs:
            reps[d.key][i] = out[d.key]
        advance(None)
    cis = {}
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    for d in defs:
        v = reps[d.key]
        if not np.isfinite(v).all():
            raise ValueError(f"{d.name} was NaN/inf on a half-sample")
        lo, hi = point[d.key] + np.quantile(v - v.mean(), q)
        low, high = _RANGES.get(d.name, (-np.inf, np.inf))
        low, high = min(low, point[d.key]), max(high, point[d.key])  # rounding: keep the value in
        cis[d.key] = (float(np.clip(lo, low, high)), float(np.clip(hi, low, high)))
    return cis


def compare_scores(
    a: Any,
    b: Any,
    scores: Sequence[str] = DEFAULT_SCORES,
    *,
    encoder: Mapping[str, Any] | None = None,
    n_bootstrap: int = 50,
    noise_floor: bool = True,
    noise_floor_repeats: int = 3,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, ScoreResult]:
    """A-vs-B sub-scores with confidence intervals and noise floors.

    Intervals: centred half-sample bootstrap (``n_bootstrap`` replicates, see
    :func:`_half_sample_ci`; 0 = none) for every score but ``c2st``, whose interval is the exact
    (Clopper-Pearson) interval of its held-out accuracy.
    Noise floor: :func:`semsim.metrics.noise_floor` (the score between two random splits of the
    pooled sample at the original sizes) for the scores the registry marks as divergences.

    Args:
        a: features (N_a, D) of the reference collection (numpy or torch).
        b: features (N_b, D).
        scores: registry names (``fd``/``fid``/``fd_<key>`` all mean the Fréchet distance).
        encoder: encoder provenance (``key``, ``name``), used to name ``fd_<key>`` / ``fid``.
        n_bootstrap: half-sample replicates; 0 disables intervals (``ci`` null).
        noise_floor: compute noise floors.
        noise_floor_repeats: random splits averaged per noise floor.
        level: confidence level.
        seed: seed of resampling, splits and the C2ST folds.
        progress: show a rich progress bar.

    Returns:
        ``{report name: ScoreResult}`` in the order of ``scores``. A score the data cannot support
        has ``value`` None and ``skipped`` set to the reason.
    """
    if n_bootstrap < 0 or n_bootstrap == 1:
        raise ValueError(f"n_bootstrap must be 0 (no intervals) or >= 2, got {n_bootstrap}")
    encoder = encoder or {}
    xa, xb = _as_array(a), _as_array(b)
    metrics.as_features(xa, "a")
    metrics.as_features(xb, "b")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(
            f"a and b have different feature dimensions: {xa.shape[1]} vs {xb.shape[1]}"
        )
    defs = resolve_scores(scores)
    results: dict[str, ScoreResult] = {}
    steps = _Steps(progress)
    groups = _engine_groups(defs)
    n_boot = n_bootstrap if n_bootstrap >= 2 else 0
    total = sum(1 + (0 if g[0].name == "c2st" else n_boot) for g in groups)
    total += sum(1 for d in defs if d.noise_floor) if noise_floor else 0
    with steps.task("A vs B scores", total) as advance:
        for group in groups:
            names = [report_name(d.name, encoder) for d in group]
            small = [
                d for d in group if min(len(xa), len(xb)) < d.min_n
            ]  # too few images for a defined value
            for d, name in zip(group, names, strict=True):
                if d in small:
                    results[name] = _skipped(
                        d,
                        f"needs at least {d.min_n} images in each collection, "
                        f"got {len(xa)} and {len(xb)}",
                    )
            todo = [(d, n) for d, n in zip(group, names, strict=True) if d not in small]
            if not todo:
                advance(None)
                continue
            if todo[0][0].name == "c2st":
                d, name = todo[0]
                results[name] = _c2st_entry(d, xa, xb, seed, level)
                advance(f"c2st ({name})")
            else:
                results.update(_engine_entries(todo, xa, xb, n_boot, seed, level, advance))
            if noise_floor:
                for d, name in todo:
                    if not d.noise_floor:
                        continue
                    if results[name].skipped is None:
                        try:
                            results[name].noise_floor = metrics.noise_floor(
                                d, xa, xb, repeats=noise_floor_repeats, seed=seed
                            )
                        except ValueError as e:
                            results[name].extra["noise_floor_skipped"] = str(e)
                    advance(f"noise floor ({name})")
    order = [report_name(d.name, encoder) for d in defs]
    return {k: results[k] for k in order}


def _engine_entries(
    todo: list[tuple[ScoreDef, str]],
    xa: np.ndarray,
    xb: np.ndarray,
    n_boot: int,
    seed: int,
    level: float,
    advance: Callable[[str | None], None],
) -> dict[str, ScoreResult]:
    engine = todo[0][0].engine()
    try:
        point = engine(xa, xb)
    except ValueError as e:
        return {name: _skipped(d, str(e)) for d, name in todo}
    advance(f"{engine.name}")
    out = {name: _score_entry(d, point[d.key]) for d, name in todo}
    # engine outputs that are no score of their own (kid_std) go with the score they qualify
    for k, v in point.items():
        owner = next((name for d, name in todo if k != d.key and k.startswith(d.key + "_")), None)
        if owner is not None:
            out[owner].extra[k] = v
    if n_boot:
        defs = [d for d, _ in todo]
        try:
            if min(len(xa), len(xb)) // 2 < engine.min_n:
                raise ValueError(f"half of the smaller collection is under {engine.min_n} images")
            cis = _half_sample_ci(engine, defs, point, xa, xb, n_boot, seed, level, advance)
        except ValueError as e:
            for _, name in todo:
                out[name].extra["ci_skipped"] = str(e)
        else:
            for d, name in todo:
                out[name].ci = cis[d.key]
                out[name].extra["ci_method"] = f"{CI_METHOD}, {n_boot} resamples"
    return out


def _c2st_entry(
    sdef: ScoreDef, xa: np.ndarray, xb: np.ndarray, seed: int, level: float
) -> ScoreResult:
    try:
        r = metrics.c2st(xa, xb, seed=seed, level=level)
    except ValueError as e:
        return _skipped(sdef, str(e))
    return _score_entry(
        sdef,
        r.accuracy,
        ci=r.ci,
        extra={
            "p_value": r.p_value,
            "indistinguishability": r.indistinguishability,
            "n_test": r.n_test,
            "ci_method": "Clopper-Pearson interval of the held-out accuracy",
        },
    )


def headline(scores: Mapping[str, ScoreResult]) -> Headline | None:
    """The headline ``similarity`` from the ``c2st`` score, or None when it is absent/skipped."""
    c = scores.get("c2st")
    if c is None or c.value is None:
        return None
    return headline_from_c2st(c.value, c.ci)


# --- class matrices -----------------------------------------------------------------------------
def _class_labels(labels: Any, class_names: Sequence[str] | None, who: str) -> list[str]:
    lab = np.asarray(labels)
    present = np.unique(lab)
    if class_names is None:
        return [str(int(c)) for c in present]
    if present.size and (present.min() < 0 or present.max() >= len(class_names)):
        raise ValueError(f"{who}: labels outside 0..{len(class_names) - 1} of its class names")
    return [str(class_names[int(c)]) for c in present]


def class_matrix_results(
    features: Any,
    labels: Any,
    class_names: Sequence[str] | None,
    scores: Sequence[str] = DEFAULT_SCORES,
    *,
    features_b: Any = None,
    labels_b: Any = None,
    class_names_b: Sequence[str] | None = None,
    encoder: Mapping[str, Any] | None = None,
    row_title: str | None = None,
    col_title: str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[dict[str, MatrixResult], dict[str, str]]:
    """Class x class matrices (one collection) or A-classes x B-classes matrices (two).

    A ``c2st`` matrix also yields a ``similarity`` matrix: the headline formula per class pair.
    One-collection diagonals hold each score's value for identical distributions.

    Args:
        features: (N, D) features of A; ``labels`` (N,) its class indices into ``class_names``.
        features_b: (M, D) features of B for a cross matrix, with ``labels_b``/``class_names_b``.
        encoder: encoder provenance, to name ``fd_<key>`` / ``fid``.
        row_title, col_title: axis titles of the heatmaps.

    Returns:
        ``(matrices by report name, {score: reason} for matrices that could not be computed)``.
    """
    encoder = encoder or {}
    if labels is None:
        raise ValueError("class matrices need a labelled collection, but A has no labels")
    if features_b is not None and labels_b is None:
        raise ValueError("A-classes x B-classes matrices need a labelled B, but B has no labels")
    xa = _as_array(features)
    xb = None if features_b is None else _as_array(features_b)
    rows = _class_labels(labels, class_names, "A")
    cols = None if xb is None else _class_labels(labels_b, class_names_b, "B")
    defs = resolve_scores(scores)
    matrices: dict[str, MatrixResult] = {}
    skipped: dict[str, str] = {}
    groups = _engine_groups(defs)
    label = "class matrices" if xb is None else "A x B class matrices"
    with _Steps(progress).task(label, len(groups)) as advance:
        for group in groups:
            names = [d.name for d in group]
            try:
                mats = metrics.class_matrices(
                    xa, np.asarray(labels), names, xb, None if xb is None else np.asarray(labels_b),
                    seed=seed,
                )  # fmt: skip
            except ValueError as e:
                for d in group:
                    skipped[report_name(d.name, encoder)] = str(e)
                advance(None)
                continue
            for d in group:
                matrices[report_name(d.name, encoder)] = MatrixResult(
                    values=mats[d.name],
                    row_labels=rows,
                    col_labels=cols,
                    higher_is_more_similar=d.higher_is_more_similar,
                    meaning=d.meaning,
                    row_title=row_title,
                    col_title=col_title,
                )
            advance(f"{label}: {', '.join(names)}")
    if "c2st" in matrices:
        c = matrices["c2st"]
        matrices["similarity"] = MatrixResult(
            values=np.asarray(similarity_from_accuracy(c.values)),
            row_labels=rows,
            col_labels=cols,
            higher_is_more_similar=True,
            meaning=SIMILARITY_MATRIX_MEANING,
            row_title=row_title,
            col_title=col_title,
        )
    return matrices, skipped


# --- method text ------------------------------------------------------------------------------
_ENCODER_PAPERS: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite": ("EfficientNet (Tan & Le 2019)", "https://arxiv.org/abs/1905.11946"),
    "inception": ("Inception-v3 (Szegedy et al. 2016)", "https://arxiv.org/abs/1512.00567"),
    "swin": ("Swin Transformer (Liu et al. 2021)", "https://arxiv.org/abs/2103.14030"),
    "dinov2": ("DINOv2 (Oquab et al. 2023)", "https://arxiv.org/abs/2304.07193"),
    "clip": ("CLIP (Radford et al. 2021)", "https://arxiv.org/abs/2103.00020"),
    "vit": ("ViT (Dosovitskiy et al. 2021)", "https://arxiv.org/abs/2010.11929"),
}
_SCORE_TITLES: dict[str, str] = {
    "fd": "FID: GANs trained by a two time-scale update rule (Heusel et al. 2017)",
    "kid": "Demystifying MMD GANs (Bińkowski et al. 2018)",
    "cmmd": "Rethinking FID: towards a better evaluation metric (Jayasumana et al. 2024)",
    "precision": "Improved precision and recall metric (Kynkäänniemi et al. 2019)",
    "density": "Reliable fidelity and diversity metrics (Naeem et al. 2020)",
    "c2st": "Revisiting classifier two-sample tests (Lopez-Paz & Oquab 2017)",
}


def method_section(
    encoder: Mapping[str, Any], scores: Sequence[str], n_bootstrap: int, noise_floor: bool
) -> dict[str, Any]:
    """The report's "Method" text and references for these encoder and scores."""
    defs = resolve_scores(scores)
    enc_name = str(encoder.get("name", "?"))
    weights = encoder.get("weights", "?")
    text = [
        f"Every image is embedded by the frozen encoder `{enc_name}` (weights `{weights}`, its "
        "own evaluation preprocessing; pooled pre-logit features). All scores compare the two "
        "sets of feature vectors, so they measure what this encoder represents: semantic content "
        "for an ImageNet-trained network, not pixels.",
        "`prototype_cosine` is the draft method (cosine of the mean embeddings); the Fréchet "
        "distance, KID and CMMD compare whole distributions; precision/recall/density/coverage "
        "separate fidelity (B inside A's manifold) from diversity (A covered by B); C2ST asks "
        "whether a logistic regression can tell the two sets apart on held-out data.",
    ]
    if n_bootstrap >= 2:
        text.append(
            f"95% intervals come from {n_bootstrap} half-samples of both sets drawn without "
            "replacement (which reproduces the full-size sampling variance, Shao & Wu 1989, "
            "without the duplicated rows of a classic bootstrap), centred on the reported value; "
            "C2ST uses the exact binomial interval of its held-out accuracy."
        )
    if noise_floor:
        text.append(
            "The noise floor of a divergence is its value between two random splits of the pooled "
            "images at the same sizes: the value that sampling noise alone produces."
        )
    refs: list[dict[str, str]] = []
    for prefix, (title, url) in _ENCODER_PAPERS.items():
        if enc_name.startswith(prefix) or prefix in enc_name:
            refs.append({"name": "encoder", "title": title, "url": url})
            break
    by_paper: dict[str, list[ScoreDef]] = {}
    for d in defs:
        if d.paper:
            by_paper.setdefault(d.paper, []).append(d)
    for url, ds in by_paper.items():
        title = _SCORE_TITLES.get(ds[0].name, ds[0].name)
        refs.append({"name": ", ".join(d.name for d in ds), "title": title, "url": url})
    if n_bootstrap >= 2:
        refs.append(
            {
                "name": "intervals",
                "title": "A general theory for jackknife variance estimation (Shao & Wu 1989)",
                "url": "https://doi.org/10.1214/aos/1176347263",
            }
        )
    return {"summary": "\n\n".join(text), "references": refs}


# --- everything ---------------------------------------------------------------------------------
def plan_matrices(
    *, a_labelled: bool, b_given: bool, b_labelled: bool, class_matrices: ClassMatrices
) -> bool:
    """Whether class matrices will be computed; raises when there is nothing to compute.

    Args:
        class_matrices: ``"auto"`` (when every given collection is labelled), True (required:
            an unlabelled collection is an error) or False.

    Raises:
        ValueError: a bad ``class_matrices``; class matrices required of an unlabelled
            collection; or ``a`` alone without matrices to compute.
    """
    if class_matrices not in ("auto", True, False):
        raise ValueError(f"class_matrices must be auto, true or false, got {class_matrices!r}")
    if class_matrices is True:
        if not a_labelled:
            raise ValueError("class_matrices=true, but collection A is unlabelled")
        if b_given and not b_labelled:
            raise ValueError("class_matrices=true, but collection B is unlabelled")
    want = class_matrices is not False and a_labelled and (not b_given or b_labelled)
    if not b_given and not want:
        why = "is unlabelled" if not a_labelled else "was given with class_matrices=false"
        raise ValueError(
            f"collection A {why} and no B is given: nothing to compute (give b=... to compare "
            "two collections, or a labelled A for its class x class matrices)"
        )
    return want


def analyse(
    a: FeatureSet,
    b: FeatureSet | None = None,
    *,
    encoder: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    scores: Sequence[str] = DEFAULT_SCORES,
    matrix_scores: Sequence[str] | None = None,
    class_matrices: ClassMatrices = "auto",
    n_bootstrap: int = 50,
    noise_floor: bool = True,
    seed: int = 0,
    progress: bool = False,
    title: str | None = None,
) -> Report:
    """Scores, class matrices and headline of A (and B) as a :class:`Report`.

    With ``b``: A-vs-B scores and the headline; plus A-classes x B-classes matrices when both are
    labelled. Without ``b``: the class x class matrices of A (no headline; a per-pair
    ``similarity`` matrix instead).

    Args:
        a, b: features with labels and class names (:class:`semsim.features.Features`).
        encoder: encoder provenance (``EncoderSpec.provenance()``), copied into the report.
        inputs: what the report says about the inputs (default: sizes and class names).
        scores: registry names for the A-vs-B scores.
        matrix_scores: registry names for the matrices (default: ``scores``).
        class_matrices: ``"auto"`` (when labelled), True (labels required), or False.
        n_bootstrap, noise_floor, seed, progress: see :func:`compare_scores`.
        title: first line of report.md.

    Raises:
        ValueError: nothing to compute (``a`` alone and unlabelled or ``class_matrices=False``),
            class matrices required of an unlabelled collection, or a bad option.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    matrix_scores = scores if matrix_scores is None else matrix_scores
    want_matrices = plan_matrices(
        a_labelled=a.labels is not None,
        b_given=b is not None,
        b_labelled=b is not None and b.labels is not None,
        class_matrices=class_matrices,
    )

    scores_out: dict[str, ScoreResult] = {}
    if b is not None:
        scores_out = compare_scores(
            a.features,
            b.features,
            scores,
            encoder=encoder,
            n_bootstrap=n_bootstrap,
            noise_floor=noise_floor,
            seed=seed,
            progress=progress,
        )
        timings["scores_s"] = time.perf_counter() - t0
    matrices: dict[str, MatrixResult] = {}
    skipped: dict[str, str] = {}
    if want_matrices:
        t1 = time.perf_counter()
        matrices, skipped = class_matrix_results(
            a.features,
            a.labels,
            a.class_names,
            matrix_scores,
            features_b=None if b is None else b.features,
            labels_b=None if b is None else b.labels,
            class_names_b=None if b is None else b.class_names,
            encoder=encoder,
            row_title="A" if b is not None else None,
            col_title="B" if b is not None else None,
            seed=seed,
            progress=progress,
        )
        timings["matrices_s"] = time.perf_counter() - t1

    if inputs is None:
        inputs = {"a": _describe_features(a)}
        if b is not None:
            inputs["b"] = _describe_features(b)
    meta: dict[str, Any] = {"seed": seed}
    if b is not None:
        meta.update({"n_bootstrap": n_bootstrap, "noise_floor": noise_floor})
    meta["feature_dim"] = int(np.shape(a.features)[1])
    if skipped:
        meta["matrices_skipped"] = skipped
    meta.update({k: round(v, 2) for k, v in timings.items()})
    used = list(dict.fromkeys([*(scores if b is not None else []), *matrix_scores]))
    return Report(
        inputs=dict(inputs),
        encoder=dict(encoder),
        scores=scores_out,
        matrices=matrices,
        similarity=headline(scores_out) if b is not None else None,
        method=method_section(
            encoder,
            used,
            n_bootstrap if b is not None else 0,
            noise_floor and b is not None,
        ),
        meta=meta,
        title=title or ("semsim: A vs B" if b is not None else "semsim: class x class"),
    )


def _describe_features(f: FeatureSet) -> dict[str, Any]:
    out: dict[str, Any] = {"n_images": int(np.shape(f.features)[0])}
    if f.labels is not None:
        names = f.class_names or [str(c) for c in range(int(np.max(f.labels)) + 1)]
        counts = np.bincount(np.asarray(f.labels), minlength=len(names))
        out["classes"] = {str(n): int(c) for n, c in zip(names, counts, strict=False)}
    return out
