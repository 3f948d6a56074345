"""Which rows each logistic regression of a C2ST trains and tests on, and all of them solved in
one batch (:mod:`semsim.metrics.logistic`): the seeded balanced subsamples of the larger set, the
stratified folds, and the count of correct held-out predictions of each subsample.

A C2ST is a *task* ``(group of A, A's rows in it, group of B, B's rows in it)`` over a list of
feature arrays (*groups*): :func:`semsim.metrics.classifier.c2st_many` makes each pair's arrays
groups of their own; :func:`semsim.metrics.classifier.c2st_resamples` makes every task a set of
rows of one pooled array, so one step of all fits reads it once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semsim.metrics import logistic


def subsamples(
    n_large: int, m: int, max_subsamples: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Sorted row indices of R balanced subsamples of m rows covering the larger set."""
    if n_large == m:
        return [np.arange(m)]
    perm = rng.permutation(n_large)
    r = min(max_subsamples, math.ceil(n_large / m))
    out = []
    for i in range(r):
        chunk = perm[i * m : (i + 1) * m]
        if len(chunk) < m:  # last chunk: top up with rows of the rest, without repeats
            rest = np.setdiff1d(perm, chunk)
            chunk = np.concatenate([chunk, rng.choice(rest, m - len(chunk), replace=False)])
        out.append(np.sort(chunk))
    return out


@dataclass(frozen=True)
class Plan:
    """The seeded draws of one C2ST: subsamples of the larger set and fold assignments."""

    a_small: bool
    m: int
    subsamples: list[np.ndarray]  # row indices into the larger set, sorted
    folds_a: list[np.ndarray]  # (m,) fold of each A-side row of each subsample's task
    folds_b: list[np.ndarray]


def plan(n_a: int, n_b: int, folds: int, seed: int, max_subsamples: int) -> Plan:
    rng = np.random.default_rng(seed)
    a_small = n_a <= n_b
    m = min(n_a, n_b)
    subs = subsamples(max(n_a, n_b), m, max_subsamples, rng)
    folds_a, folds_b = [], []
    for _ in subs:
        for out in (folds_a, folds_b):  # stratified: each side spread evenly over the folds
            f = np.empty(m, np.int64)
            f[rng.permutation(m)] = np.arange(m) % folds
            out.append(f)
    return Plan(a_small, m, subs, folds_a, folds_b)


def _part(
    groups: list[np.ndarray], g: int, rows: np.ndarray, label: int, fold: np.ndarray, f: int
) -> logistic.Part:
    """The rows ``rows`` of group ``g`` as one side of fold ``f`` (``fold``: each row's fold)."""
    train = np.zeros(len(groups[g]), bool)
    test = np.zeros(len(groups[g]), bool)
    train[rows[fold != f]] = True
    test[rows[fold == f]] = True
    return logistic.Part(g, label, train, test)


def correct_counts(
    groups: list[np.ndarray],
    tasks: Sequence[tuple[int, np.ndarray, int, np.ndarray]],
    folds: int,
    l2: float,
    seed: int,
    max_subsamples: int,
    copy: bool,
) -> list[tuple[int, np.ndarray]]:
    """``(m, correct held-out predictions of each subsample)`` of every task, all fits solved
    together; ``copy``: a subsample of the larger side becomes a group of its own rows (appended
    to ``groups``), else its rows are masked in their group."""
    problems: list[logistic.Problem] = []
    owners: list[tuple[int, int]] = []  # (task, subsample) of each problem
    plans = []
    for t, (g_a, rows_a, g_b, rows_b) in enumerate(tasks):
        p = plan(len(rows_a), len(rows_b), folds, seed, max_subsamples)
        plans.append(p)
        g_large, rows_large = (g_b, rows_b) if p.a_small else (g_a, rows_a)
        small = (g_a, rows_a) if p.a_small else (g_b, rows_b)
        for r, idx in enumerate(p.subsamples):
            large = (g_large, rows_large)
            if len(idx) != len(rows_large):  # a balanced subsample of the larger side
                large = (g_large, rows_large[idx])
                if copy:
                    groups.append(groups[g_large][rows_large[idx]])
                    large = (len(groups) - 1, np.arange(len(idx)))
            (ga, ra), (gb, rb) = (small, large) if p.a_small else (large, small)
            for f in range(folds):
                parts = (
                    _part(groups, ga, ra, 0, p.folds_a[r], f),
                    _part(groups, gb, rb, 1, p.folds_b[r], f),
                )
                problems.append(logistic.Problem(parts))
                owners.append((t, r))
    preds = logistic.fit_predict(groups, problems, l2) if problems else []
    correct = [np.zeros(len(p.subsamples)) for p in plans]
    for (t, r), (pred_a, pred_b) in zip(owners, preds, strict=True):
        correct[t][r] += int((pred_a == 0).sum()) + int((pred_b == 1).sum())
    return [(p.m, counts) for p, counts in zip(plans, correct, strict=True)]
