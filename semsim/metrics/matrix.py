"""Class x class matrices of any score, with each class's statistics computed once.

Rows and columns follow ascending label order (``np.unique``). With one labelled set the matrix is
C x C; with two (``features_b``/``labels_b``) it is A-classes (rows, the reference side) x
B-classes (columns).

Diagonal of a one-set matrix (``diagonal=``):

* ``"identity"`` (default): the score of a class against itself by definition, i.e. its value for
  two identical distributions: 0 for fd, kid, cmmd; 1 for prototype_cosine, precision, recall,
  density, coverage; 0.5 for c2st accuracy. Custom callables get ``score(x_c, x_c)``.
* ``"split_half"``: the class split (seeded) into two random disjoint halves scored against each
  other, i.e. a within-class noise floor at HALF the class size. Scores biased by small n read
  worse there than the off-diagonal entries at full size: FD of 3 same-distribution classes of
  ~100 samples in d=20 gives ~5 on the diagonal vs ~2.3 off it. Use it as a noise reference, not
  as a value to compare cell by cell (``noise_floor`` at the pair's sizes is the fair reference).

Symmetric scores are computed for i <= j and mirrored. KID uses one subset size for the whole
matrix, capped at the smallest class (the split-half diagonal caps at the smallest half).

Classes, class pairs and the C2ST's batches of fits are independent tasks: they run side by side
on worker threads, one per core, each with single-threaded BLAS (:mod:`semsim.metrics._threads`;
in the calling thread where numpy's BLAS threads cannot be set). The values are those of the
tasks run one after the other, up to the eigensolver's rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from semsim.metrics._common import (
    BLOCK_ELEMENTS,
    ArrayLike,
    GramBlock,
    GramSide,
    PairEngine,
    as_features,
)
from semsim.metrics._threads import Pool, pool
from semsim.metrics.registry import ScoreDef, ScoreFn, get_score

Diagonal = Literal["identity", "split_half"]
Progress = Callable[[int], None]  # called with the number of matrix cells just computed


PAIRS_PER_BATCH = 64
"""Pairs an engine with a batched ``pairs`` computes together (progress is shown between)."""


def _noop(_: int) -> None:
    pass


def _groups(x: np.ndarray, labels: ArrayLike, name: str) -> list[tuple[int, np.ndarray]]:
    lab = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if lab.ndim != 1 or len(lab) != len(x):
        raise ValueError(
            f"{name}: labels must be 1-D with one entry per row ({len(x)}), got {lab.shape}"
        )
    if not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"{name}: labels must be integers, got dtype {lab.dtype}")
    if (lab < 0).any():
        raise ValueError(f"{name}: labels contain negative values (unlabelled samples)")
    return [(int(c), x[lab == c]) for c in np.unique(lab)]


def _custom_engine(fn: ScoreFn) -> PairEngine:
    return PairEngine("custom", False, 1, lambda x: x, lambda a, b: {"value": float(fn(a, b))})


def _resolve(score: str | ScoreDef | ScoreFn) -> tuple[PairEngine, str]:
    if isinstance(score, str):
        score = get_score(score)
    if isinstance(score, ScoreDef):
        return score.engine(), score.key
    if callable(score):
        return _custom_engine(score), "value"
    raise ValueError(f"score must be a registry name or a callable, got {type(score).__name__}")


def _check_sizes(groups: list[tuple[int, np.ndarray]], min_n: int, what: str) -> None:
    for label, g in groups:
        if len(g) < min_n:
            raise ValueError(f"{what}: class {label} has {len(g)} samples, the score needs {min_n}")


def _halves(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(len(x))
    return x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]]


def _engine_matrices(
    engine: PairEngine,
    groups_a: list[tuple[int, np.ndarray]],
    groups_b: list[tuple[int, np.ndarray]] | None,
    diagonal: Diagonal,
    seed: int,
    progress: Progress = _noop,
) -> dict[str, np.ndarray]:
    """All outputs of one engine as matrices; each group is prepared once."""
    with pool(2 if engine.pairs is not None else 1) as workers:
        return _start_engine(engine, groups_a, groups_b, diagonal, seed, progress, workers)()


def _start_engine(
    engine: PairEngine,
    groups_a: list[tuple[int, np.ndarray]],
    groups_b: list[tuple[int, np.ndarray]] | None,
    diagonal: Diagonal,
    seed: int,
    progress: Progress,
    workers: Pool,
    split: bool = True,
) -> Callable[[], dict[str, np.ndarray]]:
    """:func:`_engine_matrices` in two steps: this prepares every group and, for an engine that
    batches its pairs, hands the batches to ``workers`` (each chunk of pairs cut into one batch
    per worker when ``split``, else one batch, which other work can overlap); the function it
    returns collects the pairs (computing them now for the other engines) and the diagonal."""
    one_set = groups_b is None
    cols = groups_a if one_set else groups_b
    sized = _sized(engine, groups_a, groups_b)
    states_a: list[Any] = [sized.prepare(g) for _, g in groups_a]
    states_b = states_a if one_set else [sized.prepare(g) for _, g in cols]
    out: dict[str, np.ndarray] = {}

    def put(i: int, j: int, values: dict[str, float]) -> None:
        for key, v in values.items():
            out.setdefault(key, np.full((len(groups_a), len(cols)), np.nan))[i, j] = v

    cells = [(i, j) for i in range(len(groups_a)) for j in range(len(cols))]
    todo = [(i, j) for i, j in cells if not one_set or (i != j and (j > i or not sized.symmetric))]
    batches: list[tuple[list[tuple[int, int]], list[Any]]] = []
    if sized.pairs is not None:  # batches of a chunk of pairs, progress between chunks
        for start in range(0, len(todo), PAIRS_PER_BATCH):
            chunk = todo[start : start + PAIRS_PER_BATCH]
            w = min(workers.workers, len(chunk)) if split else 1
            parts = [chunk[p * len(chunk) // w : (p + 1) * len(chunk) // w] for p in range(w)]
            futures = [
                workers.submit(sized.pairs, [(states_a[i], states_b[j]) for i, j in part])
                for part in parts
            ]
            batches.append((chunk, futures))

    def finish() -> dict[str, np.ndarray]:
        for chunk, futures in batches:
            values = [v for fut in futures for v in fut.result()]
            for (i, j), v in zip(chunk, values, strict=True):
                put(i, j, v)
            progress(len(chunk) * (2 if one_set and sized.symmetric else 1))
        if sized.pairs is None:
            for i, j in todo:
                put(i, j, sized.pair(states_a[i], states_b[j]))
                progress(2 if one_set and sized.symmetric else 1)
        if one_set:
            for i in range(len(groups_a)):
                put(i, i, _diagonal_entry(engine, sized, states_a[i], groups_a[i], diagonal, seed))
                if sized.symmetric:
                    for j in range(i):
                        for key in out:
                            out[key][i, j] = out[key][j, i]
                progress(1)
        return out

    return finish


def _sized(
    engine: PairEngine,
    groups_a: list[tuple[int, np.ndarray]],
    groups_b: list[tuple[int, np.ndarray]] | None,
) -> PairEngine:
    _check_sizes(groups_a, engine.min_n, "features")
    if groups_b is not None:
        _check_sizes(groups_b, engine.min_n, "features_b")
    return engine.sized([len(g) for _, g in groups_a + (groups_b or [])])


def _fits_blocks(groups: list[tuple[int, np.ndarray]]) -> bool:
    largest = max(len(g) for _, g in groups)
    return largest * largest <= BLOCK_ELEMENTS


def _shared_block_matrices(
    engines: list[PairEngine],
    groups_a: list[tuple[int, np.ndarray]],
    groups_b: list[tuple[int, np.ndarray]] | None,
    diagonal: Diagonal,
    seed: int,
    progress: Progress,
    workers: Pool,
) -> list[dict[str, np.ndarray]]:
    """The matrices of several engines from one Gram block per pair of classes.

    Every pairwise score needs the products ``x_i . y_j`` between two classes' rows; they are
    computed once per (unordered, for one set) pair of classes and within each class, then
    handed to every engine (:class:`GramBlock`), so the matrix costs about one Gram matrix of all
    features plus each engine's elementwise work.
    """
    one_set = groups_b is None
    cols = groups_a if one_set else groups_b
    every = groups_a + ([] if one_set else cols)
    shift = np.concatenate([g for _, g in every]).mean(axis=0)
    shift_sq = float(shift @ shift)
    sides_a = [GramSide.of(g, shift) for _, g in groups_a]
    sides_b = sides_a if one_set else [GramSide.of(g, shift) for _, g in cols]
    sized = [_sized(e, groups_a, groups_b) for e in engines]
    # engines that take the block's arrays to overwrite come last (PairEngine.takes_block)
    order = sorted(range(len(sized)), key=lambda k: sized[k].takes_block)

    def prepare(item: tuple[GramSide, np.ndarray]) -> list[Any]:
        side, g = item
        block = GramBlock(side, side, shift_sq)
        states: list[Any] = [None] * len(sized)
        for k in order:
            states[k] = sized[k].prepare_block(g, block)
        return states

    # per class, then per pair: independent tasks, side by side on the cores (_threads)
    states_a = list(workers.map(prepare, list(zip(sides_a, [g for _, g in groups_a], strict=True))))
    states_b = (
        states_a
        if one_set
        else list(workers.map(prepare, list(zip(sides_b, [g for _, g in cols], strict=True))))
    )
    outs: list[dict[str, np.ndarray]] = [{} for _ in engines]
    shape = (len(groups_a), len(cols))

    def put(k: int, i: int, j: int, values: dict[str, float]) -> None:
        for key, v in values.items():
            outs[k].setdefault(key, np.full(shape, np.nan))[i, j] = v

    def pair(ij: tuple[int, int]) -> list[tuple[dict[str, float], dict[str, float] | None]]:
        """Each engine's values for (i, j), and for (j, i) when a one-set engine is asymmetric."""
        i, j = ij
        block = GramBlock(sides_a[i], sides_b[j], shift_sq)
        out: list[Any] = [None] * len(sized)
        for k in order:
            e = sized[k]
            forth = e.pair_block(states_a[i][k], states_b[j][k], block)
            back = None
            if one_set and not e.symmetric:
                back = e.pair_block(states_a[j][k], states_a[i][k], block.transposed())
            out[k] = (forth, back)
        return out

    todo = [(i, j) for i in range(len(groups_a)) for j in range(i + 1 if one_set else 0, len(cols))]
    for (i, j), values in zip(todo, workers.map(pair, todo), strict=True):
        for k, (forth, back) in enumerate(values):
            put(k, i, j, forth)
            if one_set:
                put(k, j, i, forth if back is None else back)
        progress(len(engines) * (2 if one_set else 1))
    if one_set:
        for k, e in enumerate(engines):
            for i in range(len(groups_a)):
                put(k, i, i, _diagonal_entry(e, sized[k], None, groups_a[i], diagonal, seed))
                progress(1)
    return outs


def _diagonal_entry(
    engine: PairEngine,
    sized: PairEngine,
    state: Any,
    group: tuple[int, np.ndarray],
    diagonal: Diagonal,
    seed: int,
) -> dict[str, float]:
    if diagonal == "identity":
        if engine.identity:
            return dict(engine.identity)
        st = state if state is not None else sized.prepare(group[1])
        return sized.pair(st, st)
    if diagonal != "split_half":
        raise ValueError(f"diagonal must be 'identity' or 'split_half', got {diagonal!r}")
    label, x = group
    h1, h2 = _halves(x, seed + label)
    if len(h1) < engine.min_n:
        raise ValueError(
            f"split-half diagonal: class {label} has {len(x)} samples, halves need {engine.min_n}"
        )
    half = engine.sized([len(h1), len(h2)])
    return half.pair(half.prepare(h1), half.prepare(h2))


def class_matrices(
    features: ArrayLike,
    labels: ArrayLike,
    scores: Sequence[str | ScoreDef | ScoreFn],
    features_b: ArrayLike | None = None,
    labels_b: ArrayLike | None = None,
    diagonal: Diagonal = "identity",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Several class matrices at once; scores sharing an engine (e.g. the four PRDC scores) are
    computed together. Keys: the registry names given (callables: ``"custom_<index>"``).

    ``progress(done, total)``, when given, is called as matrix cells are computed (cells of all
    engines counted; ``total`` = engines x rows x columns), e.g. to show the time left.
    See :func:`class_matrix` for the other arguments.
    """
    if (features_b is None) != (labels_b is None):
        raise ValueError("features_b and labels_b must be given together")
    xa = as_features(features, "features")
    groups_a = _groups(xa, labels, "features")
    groups_b = None
    if features_b is not None:
        xb = as_features(features_b, "features_b")
        if xb.shape[1] != xa.shape[1]:
            raise ValueError(f"features_b has dimension {xb.shape[1]}, features {xa.shape[1]}")
        groups_b = _groups(xb, labels_b, "features_b")
    result: dict[str, np.ndarray] = {}
    by_factory: dict[Any, list[tuple[str, str]]] = {}
    customs: list[tuple[int, ScoreFn]] = []
    for idx, score in enumerate(scores):
        if isinstance(score, (str, ScoreDef)):
            sdef = get_score(score) if isinstance(score, str) else score
            name = score if isinstance(score, str) else sdef.name
            by_factory.setdefault(sdef.engine, []).append((name, sdef.key))
        else:
            customs.append((idx, score))
    cells = len(groups_a) * len(groups_b or groups_a)
    total = cells * (len(by_factory) + len(customs))
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)

    for idx, score in customs:
        engine, key = _resolve(score)
        mats = _engine_matrices(engine, groups_a, groups_b, diagonal, seed, tick)
        result[f"custom_{idx}"] = mats[key]
    engines = {factory: factory() for factory in by_factory}
    shared = [f for f, e in engines.items() if e.pair_block is not None and e.prepare_block]
    if not _fits_blocks(groups_a + (groups_b or [])):
        shared = []
    computed: dict[Any, dict[str, np.ndarray]] = {}
    batched = [f for f, e in engines.items() if f not in shared and e.pairs is not None]
    with pool(2 if shared or batched else 1) as workers:
        # the batched engines' fits first (whole, when block pairs can fill the other workers)
        started = {
            f: _start_engine(
                engines[f], groups_a, groups_b, diagonal, seed, tick, workers, split=not shared
            )
            for f in batched
        }
        if shared:
            mats = _shared_block_matrices(
                [engines[f] for f in shared], groups_a, groups_b, diagonal, seed, tick, workers
            )
            computed.update(zip(shared, mats, strict=True))
        computed.update({f: finish() for f, finish in started.items()})
    for factory, wanted in by_factory.items():
        if factory not in computed:
            computed[factory] = _engine_matrices(
                engines[factory], groups_a, groups_b, diagonal, seed, tick
            )
        for name, key in wanted:
            result[name] = computed[factory][key]
    return result


def class_matrix(
    features: ArrayLike,
    labels: ArrayLike,
    score: str | ScoreDef | ScoreFn,
    features_b: ArrayLike | None = None,
    labels_b: ArrayLike | None = None,
    diagonal: Diagonal = "identity",
    seed: int = 0,
) -> np.ndarray:
    """Class x class matrix of one score (rows/columns in ascending label order).

    Args:
        features: (N, D) features of the first (reference, row) set.
        labels: (N,) non-negative integer class labels.
        score: registry name (``"fd"``, ``"kid"``, ``"precision"`` ...), :class:`ScoreDef`, or any
            ``(a, b) -> float`` (computed per pair, no caching, no mirroring).
        features_b: (M, D) features of a second (column) set; ``None`` for C x C within one set.
        labels_b: (M,) labels of the second set.
        diagonal: one-set diagonal, ``"identity"`` or ``"split_half"`` (module docstring).
        seed: seed of the split-half diagonal (class c uses ``seed + c``).
    """
    mats = class_matrices(features, labels, [score], features_b, labels_b, diagonal, seed)
    return next(iter(mats.values()))
