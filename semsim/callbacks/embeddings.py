"""Embedding a dataset from inside a callback, on one or many processes.

A thin adapter over :func:`semsim.features.extract_features`, the one embedding path: every
process embeds the rows ``rank, rank + world, ...`` (no padding, unlike ``DistributedSampler``),
the pieces are gathered and put back in order, so the result equals a single-process pass. A
frozen encoder (an ``Encoder`` with a spec) may use the feature cache: pass ``cache_dir``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import Dataset

from semsim.encoders import Encoder
from semsim.features import Features, extract_features


def embed(
    trainer: L.Trainer,
    data: Dataset,
    encoder: Encoder | Callable[[torch.Tensor], torch.Tensor],
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    cache_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> Features:
    """Embed ``data`` with a frozen ``Encoder`` (cached when ``cache_dir`` and ``data`` is an
    ImageCollection) or a callable such as a training module's ``embed`` (never cached).

    Returns:
        :class:`~semsim.features.Features` (``features`` ``(N, D)`` float32 in dataset order,
        ``concepts`` for an encoder with a head) on every process.
    """
    return extract_features(
        data,
        encoder,
        batch_size=batch_size,
        num_workers=num_workers,
        device=device,
        cache_dir=cache_dir,
        progress=False,
        trainer=trainer,
    )


def embed_dataset(
    trainer: L.Trainer,
    module: L.LightningModule,
    dataset: Dataset,
    fn: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int = 64,
    num_workers: int = 0,
) -> np.ndarray:
    """Apply ``fn`` (e.g. ``module.embed``) to every image of ``dataset`` (module in eval mode).

    Returns:
        ``(N, D)`` float32 array in dataset order, on every process.
    """
    was_training = module.training
    module.eval()
    try:
        out = embed(
            trainer, dataset, fn, batch_size=batch_size, num_workers=num_workers,
            device=module.device,
        )  # fmt: skip
    finally:
        module.train(was_training)
    return out.features
