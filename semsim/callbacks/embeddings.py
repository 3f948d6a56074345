"""Embedding a dataset with a LightningModule from inside a callback, on one or many processes.

Each process embeds the indices ``rank, rank + world, ...`` (no padding, unlike
``DistributedSampler``), the pieces are gathered, and the original order is restored, so the
result is identical to a single-process pass.
"""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data import Subset as TorchSubset


def embed_dataset(
    trainer: L.Trainer,
    module: L.LightningModule,
    dataset: Dataset,
    fn: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int = 64,
    num_workers: int = 0,
) -> np.ndarray:
    """Apply ``fn`` (e.g. ``module.embed``) to every image of ``dataset``.

    Returns:
        ``(N, D)`` float32 array in dataset order, on every process.
    """
    world, rank = trainer.world_size, trainer.global_rank
    n = len(dataset)
    indices = list(range(rank, n, world))
    loader = DataLoader(
        TorchSubset(dataset, indices),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
    )
    was_training = module.training
    module.eval()
    chunks: list[torch.Tensor] = []
    with torch.inference_mode():
        for x, _ in loader:
            x = x.to(module.device)
            out = fn(x)
            chunks.append(out.float().cpu())
    module.train(was_training)
    local = torch.cat(chunks) if chunks else torch.zeros(0, 0)
    if world == 1:
        return local.numpy()
    # gather: pad every rank to the same row count, then interleave back to dataset order
    rows = (n + world - 1) // world
    dim = torch.tensor(local.shape[1] if len(local) else 0, device=module.device)
    dim = int(trainer.strategy.reduce(dim, reduce_op="max"))
    padded = torch.zeros(rows, dim, device=module.device)
    if len(local):
        padded[: len(local)] = local.to(module.device)
    gathered = trainer.strategy.all_gather(padded)  # (world, rows, dim)
    gathered = gathered.cpu()
    out = torch.zeros(n, dim)
    for r in range(world):
        idx = torch.arange(r, n, world)
        out[idx] = gathered[r, : len(idx)]
    return out.numpy()
