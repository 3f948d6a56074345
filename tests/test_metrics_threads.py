"""Class-matrix pairs on worker threads (semsim.metrics._threads): the same values as one after the
other in the calling thread (also with the C2ST's fits overlapping the Gram-block pairs), in order,
errors raised, thread counts restored."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semsim.metrics._threads as th
from semsim.metrics import class_matrices

SHARED = ["fd", "kid", "cmmd", "precision", "recall", "density", "coverage", "content_similarity"]


def _blas_threads() -> list[int]:
    return [get() for get, _ in th._openblas()]


def _classes(n: int = 60, d: int = 24, classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=0.3, size=(classes, d))
    labels = np.repeat(np.arange(classes), n)
    return rng.normal(size=(len(labels), d)) + centers[labels], labels


def test_map_ordered_keeps_order_and_restores_thread_counts() -> None:
    before, torch_before = _blas_threads(), torch.get_num_threads()
    seen: list[tuple[int, int]] = []

    def task(i: int) -> int:
        seen.append((_blas_threads()[0] if _blas_threads() else 1, torch.get_num_threads()))
        return i * i

    assert list(th.map_ordered(task, list(range(20)), workers=2)) == [i * i for i in range(20)]
    assert all(s == (1, 1) for s in seen)  # single-threaded BLAS and torch inside the tasks
    assert _blas_threads() == before and torch.get_num_threads() == torch_before


def test_map_ordered_raises_the_task_error_and_restores() -> None:
    before, torch_before = _blas_threads(), torch.get_num_threads()

    def task(i: int) -> int:
        if i == 3:
            raise ValueError("task 3")
        return i

    with pytest.raises(ValueError, match="task 3"):
        list(th.map_ordered(task, list(range(8)), workers=2))
    assert _blas_threads() == before and torch.get_num_threads() == torch_before


@pytest.mark.skipif(th.workers_for(8) < 2, reason="numpy's BLAS threads cannot be set here")
@pytest.mark.parametrize(
    "scores", [SHARED, ["c2st", "indistinguishability"], [*SHARED, "c2st", "prototype_cosine"]]
)
def test_threaded_matrices_equal_sequential(monkeypatch: pytest.MonkeyPatch, scores) -> None:
    x, labels = _classes()
    xb, labels_b = _classes(50, seed=1)
    threaded = class_matrices(x, labels, scores)
    cross = class_matrices(x, labels, scores, xb, labels_b)
    monkeypatch.setattr(th, "workers_for", lambda tasks: 1)
    alone = class_matrices(x, labels, scores)
    cross_alone = class_matrices(x, labels, scores, xb, labels_b)
    for k in scores:  # rounding only: the eigensolver's sums may run in another order
        np.testing.assert_allclose(threaded[k], alone[k], rtol=1e-10, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(cross[k], cross_alone[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_overlapping_sections_restore_the_counts_from_before_the_first() -> None:
    """Two threads' sections ending in the order they began: the counts stay at one until the
    last ends, then are those from before the first (not the first's one-thread setting)."""
    before, torch_before = _blas_threads(), torch.get_num_threads()
    first, second = th._one_blas_thread(), th._one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert torch.get_num_threads() == 1 and all(n == 1 for n in _blas_threads())
    second.__exit__(None, None, None)
    assert _blas_threads() == before and torch.get_num_threads() == torch_before
