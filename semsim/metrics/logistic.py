"""Many L2-regularized logistic regressions solved together (the C2ST's classifiers).

A classifier two-sample test fits one logistic regression per cross-validation fold, per balanced
subsample and, in a class matrix, per pair of classes: a 10-class matrix with 5 folds is 225 fits.
Each fit alone is a sequence of matrix-vector products over its training rows, which on a CPU run at
memory speed. Here every fit is a *problem* whose rows are drawn from shared *groups* (a class, a
collection, a subsample): one step of all problems multiplies each group once by the matrix of all
its problems' weight columns, ``G @ V``, a matrix-matrix product that runs at compute speed.

Each problem minimizes, over its training rows ``T`` (labels ``y`` in {0, 1})::

    mean_{i in T} [softplus(z_i) - y_i z_i] + l2 / 2 * ||w||^2,   z_i = ((x_i - mu) / sigma) . w + b

with ``mu``/``sigma`` the mean/std of its training rows (a constant feature keeps sigma = 1). The
standardized rows are never built: ``z = x . (w / sigma) + (b - mu . (w / sigma))``. The objective
is strongly convex (``l2 > 0``), so the minimizer is unique and any solver that reaches it gives the
same predictions; this one is L-BFGS (history 20) with a backtracking Armijo line search, each
problem with its own history and step, run until the largest gradient entry is below ``tol``
(default 1e-9, much tighter than a single fit's usual 1e-5..1e-7, so that the predictions are
those of the exact minimizer; tests check them against Newton's method in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

HISTORY = 20


@dataclass(frozen=True)
class Part:
    """Rows of one problem taken from one group, all with one label.

    Attributes:
        group: index into the list of groups.
        label: 0 or 1.
        train: (n_group,) bool, the group's rows in the problem's training set.
        test: (n_group,) bool, the group's rows the fitted model predicts.
    """

    group: int
    label: int
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Problem:
    """One logistic regression: the union of its parts' rows (one part per label, usually)."""

    parts: tuple[Part, ...]


def _softplus_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + e^z)`` and ``1 / (1 + e^-z)``, stable for any z, from one exponential (torch's
    vectorized exp and log1p: half the time of numpy's on an AVX2 CPU, within an ulp)."""
    t = torch.from_numpy(z)
    e = torch.exp(-t.abs())
    softplus = t.clamp(min=0.0).add_(torch.log1p(e))
    inv = (1.0 + e).reciprocal_()
    sigmoid = torch.where(t >= 0, inv, e.mul_(inv))
    return softplus.numpy(), sigmoid.numpy()


class _Batch:
    """Standardization statistics and the batched loss/gradient of all problems."""

    def __init__(self, groups: list[np.ndarray], problems: list[Problem], l2: float) -> None:
        self.groups = groups
        self.l2 = l2
        self.d = groups[0].shape[1]
        n_p = len(problems)
        self.n_train = np.array([sum(int(p.train.sum()) for p in q.parts) for q in problems])
        # columns of each group: (problem index, part) pairs, with their masks and labels
        self.cols: list[list[tuple[int, Part]]] = [[] for _ in groups]
        for i, q in enumerate(problems):
            for part in q.parts:
                self.cols[part.group].append((i, part))
        self.train = [  # (n_k, cols) 0/1 training masks of each group's columns
            np.stack([p.train for _, p in cols], axis=1).astype(np.float64) if cols else None
            for cols in self.cols
        ]
        self.labels = [np.array([p.label for _, p in cols], dtype=np.float64) for cols in self.cols]
        self.col_problem = [np.array([i for i, _ in cols], dtype=np.int64) for cols in self.cols]
        self.mu, self.sigma = self._standardization(n_p)
        # each group's columns' standardization, gathered once (logits read them every step)
        self.mu_cols = [self.mu[idx] for idx in self.col_problem]
        self.sigma_cols = [self.sigma[idx] for idx in self.col_problem]
        # a problem with two parts in one group needs an unbuffered add
        self.unique = [len(set(c.tolist())) == len(c) for c in self.col_problem]

    def _standardization(self, n_p: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(P, d)`` of each problem's training rows (a constant feature: std 1),
        merged over its parts by Chan et al.'s pairwise update, each part shifted by its group's
        mean for accuracy."""
        mu = np.zeros((n_p, self.d))
        m2 = np.zeros((n_p, self.d))
        count = np.zeros(n_p)
        for k, g in enumerate(self.groups):
            masks = self.train[k]
            if masks is None:
                continue
            n = masks.sum(axis=0)
            center = g.mean(axis=0)
            gc = g - center
            s1 = (gc.T @ masks).T  # (cols, d)
            s2 = ((gc * gc).T @ masks).T
            safe = np.maximum(n, 1.0)[:, None]
            mean_part = center + s1 / safe
            m2_part = s2 - s1 * s1 / safe
            for c, i in enumerate(self.col_problem[k]):  # a problem may have parts in many groups
                na, nb = count[i], n[c]
                if nb == 0:
                    continue
                delta = mean_part[c] - mu[i]
                tot = na + nb
                mu[i] += delta * nb / tot
                m2[i] += m2_part[c] + delta * delta * na * nb / tot
                count[i] = tot
        std = np.sqrt(np.maximum(m2, 0.0) / np.maximum(count, 1.0)[:, None])
        std[std <= 1e-12 * np.maximum(1.0, np.abs(mu))] = 1.0
        return mu, std

    def logits(self, k: int, theta: np.ndarray) -> np.ndarray:
        """Logits ``(n_k, cols)`` of group ``k``'s rows under its problems' parameters.

        Linear in ``theta`` (no constant term), so it also maps a search direction to the
        logits' rate of change along it.
        """
        idx = self.col_problem[k]
        v = theta[idx, : self.d] / self.sigma_cols[k]
        c = theta[idx, self.d] - np.einsum("pd,pd->p", self.mu_cols[k], v)
        return self.groups[k] @ v.T + c

    def _add(self, acc: np.ndarray, k: int, term: np.ndarray) -> None:
        if self.unique[k]:
            acc[self.col_problem[k]] += term
        else:
            np.add.at(acc, self.col_problem[k], term)

    def data_loss(self, zs: list[np.ndarray | None], n_p: int) -> tuple[np.ndarray, list]:
        """Mean log-loss (P,) of logits ``zs`` and its derivative by each logit (masked)."""
        f = np.zeros(n_p)
        rs: list[np.ndarray | None] = []
        for k, z in enumerate(zs):
            if z is None:
                rs.append(None)
                continue
            y = self.labels[k]
            mask = self.train[k] / self.n_train[self.col_problem[k]]
            softplus, sigmoid = _softplus_sigmoid(z)
            self._add(f, k, ((softplus - y * z) * mask).sum(axis=0))
            rs.append((sigmoid - y) * mask)
        return f, rs

    def along(self, rs: list, zds: list, n_p: int) -> np.ndarray:
        """Derivative (P,) of the data loss along the direction whose logit rates are ``zds``."""
        out = np.zeros(n_p)
        for k, (r, zd) in enumerate(zip(rs, zds, strict=True)):
            if r is not None:
                self._add(out, k, np.einsum("nc,nc->c", r, zd))
        return out

    def grad(self, theta: np.ndarray, rs: list) -> np.ndarray:
        """Gradient (P, d + 1) of the objective from the logit derivatives ``rs``."""
        n_p = len(theta)
        gv = np.zeros((n_p, self.d))
        rsum = np.zeros(n_p)
        for k, r in enumerate(rs):
            if r is not None:
                self._add(gv, k, (self.groups[k].T @ r).T)
                self._add(rsum, k, r.sum(axis=0))
        out = np.empty_like(theta)
        out[:, : self.d] = (gv - self.mu * rsum[:, None]) / self.sigma + self.l2 * theta[
            :, : self.d
        ]
        out[:, self.d] = rsum
        return out

    def penalty(self, w: np.ndarray) -> np.ndarray:
        return 0.5 * self.l2 * np.einsum("pd,pd->p", w, w)


def _direction(g: np.ndarray, s_hist: list, y_hist: list, rho_hist: list) -> np.ndarray:
    """L-BFGS two-loop recursion for every row of ``g`` at once (histories share their length)."""
    q = g.copy()
    alphas = []
    for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist), strict=True):
        a = rho * np.einsum("pd,pd->p", s, q)
        q -= a[:, None] * y
        alphas.append(a)
    if s_hist:
        s, y = s_hist[-1], y_hist[-1]
        gamma = np.einsum("pd,pd->p", s, y) / np.maximum(np.einsum("pd,pd->p", y, y), 1e-300)
        q *= gamma[:, None]
    for s, y, rho, a in zip(s_hist, y_hist, rho_hist, reversed(alphas), strict=True):
        b = rho * np.einsum("pd,pd->p", y, q)
        q += (a - b)[:, None] * s
    return -q


def fit_predict(
    groups: list[np.ndarray],
    problems: list[Problem],
    l2: float,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> list[list[np.ndarray]]:
    """Fit every problem; each part's 0/1 predictions on its ``test`` rows.

    Args:
        groups: float64 arrays (n_k, D), one D for all.
        problems: the fits (:class:`Problem`); parts index ``groups``.
        l2: ridge penalty (> 0 for a unique minimizer).
        tol: stop a problem when its largest gradient entry is at most this.
        max_iter: L-BFGS iterations at most per problem.

    Returns:
        ``out[p][j]``: (test rows of part j of problem p,) int64 predictions, in row order.
    """
    batch = _Batch(groups, problems, l2)
    n_p, d = len(problems), batch.d
    theta = np.zeros((n_p, d + 1))
    live = {k for k in range(len(groups)) if batch.train[k] is not None}

    def per_group(fn) -> list:  # noqa: ANN001 - a group index -> array
        return [fn(k) if k in live else None for k in range(len(groups))]

    zs = per_group(lambda k: np.zeros((len(groups[k]), len(batch.cols[k]))))
    f, rs = batch.data_loss(zs, n_p)
    g = batch.grad(theta, rs)
    active = np.abs(g).max(axis=1) > tol
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    rho_hist: list[np.ndarray] = []
    for it in range(max_iter):
        if not active.any():
            break
        direc = _direction(g, s_hist, y_hist, rho_hist)
        direc[~active] = 0.0
        slope = np.einsum("pd,pd->p", g, direc)
        bad = active & (slope >= 0)  # not a descent direction (rounding): restart on -g
        direc[bad] = -g[bad]
        slope[bad] = -np.einsum("pd,pd->p", g[bad], g[bad])
        zds = per_group(lambda k, p=direc: batch.logits(k, p))  # linear along the direction
        step = np.ones(n_p)
        if it == 0:
            step = np.minimum(1.0, 1.0 / np.maximum(np.abs(g).sum(axis=1), 1e-300))
        w, dw = theta[:, :d], direc[:, :d]
        todo = active.copy()
        f_new = f.copy()
        z_new = list(zs)  # each group's arrays are copied before a partial update
        r_new = list(rs)
        for _ in range(60):  # backtracking: halve the step of problems not yet decreasing enough
            zt = [None if z is None else z + zd * step[batch.col_problem[k]]
                  for k, (z, zd) in enumerate(zip(zs, zds, strict=True))]  # fmt: skip
            ft, rt = batch.data_loss(zt, n_p)
            ft += batch.penalty(w + step[:, None] * dw)
            # Armijo; or, near the minimum where f changes below its rounding, no increase beyond
            # rounding and the directional derivative shrunk as the strong Wolfe condition asks
            dt = batch.along(rt, zds, n_p) + batch.l2 * np.einsum(
                "pd,pd->p", w + step[:, None] * dw, dw
            )
            flat = (ft <= f + 1e-13 * np.abs(f)) & (np.abs(dt) <= 0.9 * np.abs(slope))
            ok = todo & ((ft <= f + 1e-4 * step * slope) | flat)
            f_new[ok] = ft[ok]
            for k in live:
                cols = ok[batch.col_problem[k]]
                if not cols.any():
                    continue
                if z_new[k] is zs[k] and cols.all():  # the whole group moves: take the trial
                    z_new[k], r_new[k] = zt[k], rt[k]
                    continue
                if z_new[k] is zs[k]:
                    z_new[k], r_new[k] = zs[k].copy(), rs[k].copy()
                z_new[k][:, cols] = zt[k][:, cols]
                r_new[k][:, cols] = rt[k][:, cols]
            todo &= ~ok
            if not todo.any():
                break
            step[todo] *= 0.5
        stuck = todo  # no acceptable step at machine precision: that problem is at its minimum
        moved = active & ~stuck
        s = np.where(moved[:, None], step[:, None] * direc, 0.0)
        theta += s
        zs, rs, f = z_new, r_new, f_new
        g_new = batch.grad(theta, rs)
        yv = np.where(moved[:, None], g_new - g, 0.0)
        g = np.where(moved[:, None], g_new, g)
        sy = np.einsum("pd,pd->p", s, yv)
        rho = np.where(sy > 1e-300, 1.0 / np.maximum(sy, 1e-300), 0.0)  # rho 0: pair ignored
        s_hist.append(s)
        y_hist.append(yv)
        rho_hist.append(rho)
        if len(s_hist) > HISTORY:
            del s_hist[0], y_hist[0], rho_hist[0]
        active &= ~stuck & (np.abs(g).max(axis=1) > tol)
    out: list[list[np.ndarray]] = [[] for _ in problems]
    zs = per_group(lambda k: batch.logits(k, theta))  # fresh, not the line search's running sums
    for k, cols in enumerate(batch.cols):
        for c, (i, part) in enumerate(cols):
            out[i].append((zs[k][part.test, c] > 0).astype(np.int64))
    return _in_part_order(out, problems)


def _in_part_order(out: list[list[np.ndarray]], problems: list[Problem]) -> list[list[np.ndarray]]:
    """Reorder each problem's predictions from group order (as computed) to its part order."""
    result: list[list[np.ndarray]] = []
    for i, q in enumerate(problems):
        seen = sorted(range(len(q.parts)), key=lambda j: (q.parts[j].group, j))
        by_part: list[np.ndarray] = [np.empty(0, np.int64)] * len(q.parts)
        for pos, j in enumerate(seen):
            by_part[j] = out[i][pos]
        result.append(by_part)
    return result
