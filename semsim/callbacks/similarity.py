"""Class-similarity reports from inside a training run.

:class:`SimilarityMatrixCallback` embeds the test set with the model being trained (its
``embed(x)``: pooled pre-logit features) and writes the class x class matrices of every configured
score, as ``report.json`` + CSV + PNG + ``report.md`` under ``<out_dir>/<stage>/``:

- ``pretrained``: before the first training step (what the starting weights see),
- ``fit``: after fit (last weights),
- ``test``: after test (the weights that were tested, normally the best checkpoint).

All processes embed their share of the images; rank 0 alone computes the scores, writes files
and logs (a scalar per matrix to every logger; a table and an image to W&B).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from semsim.analysis import analyse, score_names
from semsim.callbacks.embeddings import embed_dataset
from semsim.callbacks.stages import StageReportCallback
from semsim.data.sampling import per_class_subset  # re-exported: callbacks subsample with it
from semsim.report import Report, write_report

log = logging.getLogger(__name__)

STAGES = ("pretrained", "fit", "test")


@dataclass
class _Features:
    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None


def log_report(trainer: L.Trainer, report: Report, out_dir: Path, prefix: str) -> None:
    """Send a report's numbers to the trainer's loggers (tables and heatmaps to W&B)."""
    scalars: dict[str, float] = {}
    for name, s in report.scores.items():
        if s.value is not None:
            scalars[f"{prefix}/{name}"] = float(s.value)
    if report.similarity is not None:
        scalars[f"{prefix}/similarity"] = float(report.similarity.value)
    for name, m in report.matrices.items():
        v = np.asarray(m.values, dtype=np.float64)
        off = v[~np.eye(*v.shape, dtype=bool)] if not m.is_cross and v.shape[0] > 1 else v.ravel()
        off = off[np.isfinite(off)]
        if off.size:
            scalars[f"{prefix}/{name}/mean_offdiag"] = float(off.mean())
    for lg in trainer.loggers:
        if scalars:
            lg.log_metrics(scalars, step=trainer.global_step)
        if type(lg).__name__ == "WandbLogger":
            for name, m in report.matrices.items():
                columns = ["row", *m.columns]
                rows = [
                    [r, *map(float, vals)] for r, vals in zip(m.row_labels, m.values, strict=True)
                ]
                lg.log_table(key=f"{prefix}/{name}", columns=columns, data=rows)
                png = out_dir / f"{name}.png"
                if png.exists():
                    lg.log_image(key=f"{prefix}/{name}_heatmap", images=[str(png)])


class SimilarityMatrixCallback(StageReportCallback):
    """Class x class similarity of the model's embeddings on the test set, at chosen stages.

    Args:
        stages: any of ``pretrained``, ``fit``, ``test``.
        scores: registry names (``semsim.metrics.SCORES``; None = all of them); ``fd`` is
            reported as ``fd_<encoder_key>``.
        encoder_key: names the embedding in score names and the report.
        max_per_class: test images per class used (seeded subsample); ``None`` for all.
        batch_size: embedding batch size.
        num_workers: DataLoader workers for embedding.
        seed: subsampling and resampling seed.
        out_dir: reports go to ``<out_dir>/<stage>/``.
        n_bootstrap: bootstrap replicates for class-pair intervals (0: none).
    """

    def __init__(
        self,
        stages: Sequence[str] = STAGES,
        scores: Sequence[str] | None = None,
        encoder_key: str = "model",
        max_per_class: int | None = 200,
        batch_size: int = 128,
        num_workers: int = 0,
        seed: int = 0,
        out_dir: str = "similarity",
        n_bootstrap: int = 0,
    ) -> None:
        super().__init__(stages, "callbacks.similarity")
        self.scores = score_names(scores)  # None: every registry score
        self.encoder_key = encoder_key
        self.max_per_class = max_per_class
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.out_dir = Path(out_dir)
        self.n_bootstrap = n_bootstrap
        self.reports: dict[str, Report] = {}

    # --- work ----------------------------------------------------------------------------
    def encoder_info(self, pl_module: L.LightningModule, stage: str) -> dict[str, Any]:
        net = getattr(pl_module, "net", None)
        info = dict(net.describe()) if hasattr(net, "describe") else {}
        return {"key": self.encoder_key, "stage": stage, **info}

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> Report | None:
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "test_set"):
            raise ValueError("SimilarityMatrixCallback needs a datamodule with a test_set")
        dataset = dm.test_set
        if dataset.labels is None:
            raise ValueError(f"{dataset.name}: class matrices need a labelled test set")
        keep = per_class_subset(dataset.labels, self.max_per_class, self.seed)
        from semsim.data import Subset

        subset = Subset(dataset, keep)
        feats = embed_dataset(
            trainer, pl_module, subset, pl_module.embed, self.batch_size, self.num_workers
        )
        if trainer.global_rank != 0:
            return None
        log.info("similarity (%s): %d images, %d-d embeddings", stage, *feats.shape)
        report = analyse(
            _Features(feats, subset.labels, subset.class_names),
            encoder=self.encoder_info(pl_module, stage),
            inputs={"a": {**subset.describe(), "split": "test", "stage": stage}},
            scores=self.scores,
            class_matrices=True,
            n_bootstrap=self.n_bootstrap,
            seed=self.seed,
            title=f"semsim: class similarity of {dataset.name} ({stage})",
        )
        out = self.out_dir / stage
        write_report(report, out)
        log_report(trainer, report, out, prefix=f"similarity/{stage}")
        self.reports[stage] = report
        return report
