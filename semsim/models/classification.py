"""Image classification LightningModule (CIFAR-10 fine-tuning, and the smoke experiment)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchmetrics.classification import MulticlassAccuracy

from semsim.models.base import ImageModule


class ClassifierModule(ImageModule):
    """Cross-entropy training of ``net`` (a module with ``embed(x)``, ``forward(x)`` and a linear
    ``head``).

    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``val/acc_best``,
    ``test/loss``, ``test/acc``.

    Args:
        net, optimizer, scheduler: see :class:`~semsim.models.base.ImageModule`.
        label_smoothing: cross-entropy label smoothing.
        compile: ``torch.compile`` the net for fitting.
    """

    KIND = "classifier"

    def __init__(
        self,
        net: torch.nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        label_smoothing: float = 0.0,
        compile: bool = False,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        self.save_hyperparameters(logger=False, ignore=["net", "optimizer", "scheduler"])
        n = net.head.out_features
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes=n, average="micro"))

    def step(self, batch: tuple[torch.Tensor, torch.Tensor]):
        x, y = batch
        logits = self(x)
        return self.cross_entropy(logits, y), logits.argmax(dim=1), y
