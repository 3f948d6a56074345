"""What the LightningModules share: a built ``net``, the step loop, logging, optimisers.

A subclass says what one batch gives (:meth:`ImageModule.step`: loss, predictions, targets), which
metrics it keeps (``train_acc``/``val_<name>``/``test_<name>`` for ``name`` in
:attr:`ImageModule.EVAL_METRICS`), and, if it wants, its optimiser parameter groups. The loop,
the logged keys (``train/loss``, ``train/acc``, ``<stage>/loss``, ``<stage>/<metric>``,
``val/acc_best``), ``torch.compile``, the scheduler wiring and the checkpoint's plain-type
``semsim`` record live here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from lightning import LightningModule
from torchmetrics import MaxMetric, MeanMetric


class ImageModule(LightningModule):
    """Cross-entropy training of ``net`` (a module with ``embed(x)`` and ``forward(x)``).

    Subclasses call ``super().__init__`` with the net and factories, create their metric objects
    (``<stage>_acc`` for every stage, and ``val_/test_<name>`` for :attr:`EVAL_METRICS`), and
    implement :meth:`step`.

    Args:
        net: the network, built.
        optimizer: partial optimizer, called with the parameter groups that train.
        scheduler: partial scheduler ``(optimizer, total_steps)`` stepped per batch, or ``None``.
    """

    EVAL_METRICS: tuple[str, ...] = ("acc",)
    KIND: str = "module"  # recorded in checkpoints as semsim.module

    def __init__(
        self,
        net: torch.nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_loss", MeanMetric())
        self.val_acc_best = MaxMetric()

    # --- inference -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-logit embeddings ``(B, D)``; what the similarity callbacks measure."""
        return self.net.embed(x)

    # --- steps -----------------------------------------------------------------------------
    def step(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, predictions for the metrics, targets)`` of one batch."""
        raise NotImplementedError

    def cross_entropy(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y, label_smoothing=self.hparams.label_smoothing)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss, pred, target = self.step(batch)
        self.train_loss(loss)
        self.train_acc(pred, target)
        self.log("train/loss", self.train_loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _eval_step(self, stage: str, batch: Any) -> None:
        loss, pred, target = self.step(batch)
        # update, not forward: epoch values only (a batch may hold a single class, where e.g.
        # AUC is undefined)
        getattr(self, f"{stage}_loss").update(loss)
        self.log(f"{stage}/loss", getattr(self, f"{stage}_loss"), on_step=False, on_epoch=True)
        for name in self.EVAL_METRICS:
            metric = getattr(self, f"{stage}_{name}")
            metric.update(pred, target)
            self.log(
                f"{stage}/{name}", metric, on_step=False, on_epoch=True, prog_bar=name == "acc"
            )

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("val", batch)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_train_start(self) -> None:
        self.val_loss.reset()
        self.val_acc.reset()
        self.val_acc_best.reset()

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_acc.compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    # --- set-up, checkpoints, optimisation -------------------------------------------------
    def setup(self, stage: str) -> None:
        if self.hparams.get("compile") and stage == "fit":
            self.net = torch.compile(self.net)

    @property
    def plain_net(self) -> torch.nn.Module:
        """The net without a ``torch.compile`` wrapper."""
        return self.net._orig_mod if hasattr(self.net, "_orig_mod") else self.net

    def checkpoint_record(self) -> dict[str, Any]:
        """``checkpoint["semsim"]``: plain types only, so the checkpoint loads with
        ``torch.load(weights_only=True)``."""
        net = self.plain_net
        return {
            "net": dict(net.describe()) if hasattr(net, "describe") else {},
            "module": self.KIND,
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["semsim"] = self.checkpoint_record()

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimizer parameter groups; a group's ``lr_factor`` scales its learning rate."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(params=self.param_groups())
        for g in optimizer.param_groups:
            g["lr"] = g["lr"] * float(g.pop("lr_factor", 1.0))
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=max(1, total))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }
