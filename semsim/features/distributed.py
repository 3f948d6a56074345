"""Running :func:`~semsim.features.extract_features` on the processes of a Lightning trainer.

A command that is not training (``semsim.compare``) gets Lightning's processes from
:func:`run_on_trainer`: ``fn(trainer)`` runs inside the trainer's predict loop on every process,
where :func:`extract_features` splits its work with the running trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import DataLoader

from semsim.data.collection import ImageCollection
from semsim.encoders import Encoder, EncoderSpec
from semsim.features.extract import Features, extract_features


def run_on_trainer(trainer: Any, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(trainer)`` on every process of ``trainer`` (a ``lightning.Trainer``), inside its
    predict loop, and return what ``fn`` returned in this process.

    This is how a command that is not training gets Lightning's processes: with
    ``strategy="ddp"`` Lightning relaunches the command once per extra device (or SLURM/torchrun
    started them), sets up the process group, and every process calls ``fn`` with the running
    trainer, which :func:`extract_features` uses to split its work. Strategies that spawn
    processes (``ddp_spawn``, ``ddp_notebook``) cannot hand results back and are refused.
    """
    import lightning as L

    strategy = type(trainer.strategy).__name__.lower()
    launcher = type(getattr(trainer.strategy, "launcher", None)).__name__.lower()
    if "spawn" in strategy or "multiprocessing" in launcher:
        raise ValueError(
            f"trainer.strategy={type(trainer.strategy).__name__}: spawned processes cannot return "
            "features; use strategy=ddp (Lightning relaunches the command) or torchrun/SLURM"
        )

    class _Run(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.result: Any = None

        def predict_dataloader(self) -> DataLoader:
            return DataLoader([0], batch_size=1)  # one step per process

        def predict_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ARG002
            self.result = fn(self.trainer)

    job = _Run()
    trainer.predict(job, return_predictions=False)
    return job.result


def make_trainer(**kwargs: Any) -> Any:
    """A ``lightning.Trainer`` for :func:`run_on_trainer`: no logger, checkpoints or summary."""
    import lightning as L

    base = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "enable_progress_bar": False,
        "use_distributed_sampler": False,
    }
    return L.Trainer(**{**base, **kwargs})


def extract_features_distributed(
    collection: ImageCollection,
    spec_or_encoder: EncoderSpec | Encoder,
    *,
    trainer_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Features:
    """:func:`extract_features` on the processes of a ``lightning.Trainer(**trainer_kwargs)``
    (``accelerator``, ``devices``, ``strategy="ddp"``, ``num_nodes``, ``precision``); the same
    :class:`Features` on every process. ``kwargs`` are :func:`extract_features`'s options.
    """
    kw = dict(trainer_kwargs or {})
    precision = kwargs.pop("precision", kw.get("precision", "32"))
    trainer = make_trainer(**kw)
    return run_on_trainer(
        trainer,
        lambda t: extract_features(
            collection, spec_or_encoder, precision=precision, trainer=t, **kwargs
        ),
    )
