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
import torch

from semsim.analysis import analyse, score_names
from semsim.callbacks.embeddings import embed_dataset
from semsim.callbacks.loggers import log_report
from semsim.callbacks.stages import StageReportCallback, evidence, labelled_test_set
from semsim.data.sampling import per_class_subset  # re-exported: callbacks subsample with it
from semsim.report import Report
from semsim.stages.write import assemble, write_files

log = logging.getLogger(__name__)

STAGES = ("pretrained", "fit", "test")


@dataclass
class FeatureArrays:
    """Embedded images as :func:`semsim.analysis.analyse` reads them (a ``FeatureSet``)."""

    features: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    concepts: np.ndarray | None = None
    content: np.ndarray | None = None  # the content view (semsim.features.content), if made
    rendering: np.ndarray | None = None


def head_concepts(pl_module: L.LightningModule, feats: np.ndarray, stage: str) -> np.ndarray | None:
    """Concept logits ``(N, C)`` of embedded images from the trained model's own linear head
    (``net.head``), for the content score; None before training (an untrained head names nothing)
    or when the model has no linear head."""
    head = getattr(getattr(pl_module, "net", None), "head", None)
    if stage == "pretrained" or not isinstance(head, torch.nn.Linear):
        return None
    w = head.weight.detach().double().cpu().numpy()
    b = head.bias.detach().double().cpu().numpy() if head.bias is not None else 0.0
    return (feats.astype(np.float64) @ w.T + b).astype(np.float32)


class SimilarityMatrixCallback(StageReportCallback):
    """Class x class similarity of the model's embeddings on the test set, at chosen stages.

    Args:
        stages: any of ``pretrained``, ``fit``, ``test``.
        scores: registry names (``semsim.metrics.SCORES``); ``None``: every registry score.
            ``fd`` is reported as ``fd_<encoder_key>``.
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
    def content_view(
        self, trainer: L.Trainer, pl_module: L.LightningModule, subset: Any
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The two headlines' inputs for one collection, as ``semsim compare`` makes them: the
        model's embedding of every image with its coarse hues at one level (the content view of
        one collection, :mod:`semsim.features.content` and :mod:`semsim.features.colour`), and
        per-image rendering statistics (rank 0). ``(None, None)`` when no configured score reads
        them."""
        from semsim.metrics import SCORES

        wanted = self.scores if self.scores is not None else list(SCORES)
        if not any(SCORES[n].input in ("content", "rendering") for n in wanted if n in SCORES):
            return None, None
        from semsim.features.content import pixel_pass, rendering_features
        from semsim.features.native import NativeRendering
        from semsim.features.rendering import CommonRendering

        dm = trainer.datamodule
        mean, std = dm.data_config["mean"], dm.data_config["std"]
        view = CommonRendering(None, mean, std, NativeRendering(colour=True))
        content = embed_dataset(
            trainer, pl_module, subset, lambda x: pl_module.embed(view(x)), self.batch_size,
            self.num_workers,
        )  # fmt: skip
        if trainer.global_rank != 0:
            return content, None
        stats = pixel_pass(subset, dm.eval_transform, mean, std, batch_size=self.batch_size,
                           num_workers=self.num_workers)  # fmt: skip
        return content, rendering_features(stats)

    def encoder_info(self, pl_module: L.LightningModule, stage: str) -> dict[str, Any]:
        """The report's ``encoder`` entry, named as every other command names it.

        Before training (``pretrained``) the features are the loaded weights': the encoder
        registry's short name (``tf_efficientnet_lite0`` -> ``fd_effnet_lite0``, as ``semsim
        compare``). After training a backbone that was not frozen, they are another encoder's:
        ``models.provenance.encoder_info`` names them as the real/fake callback does
        (``fd_effnet_lite0_finetuned``, ``_trained`` from random weights).
        """
        from types import SimpleNamespace

        from semsim.encoders import default_key
        from semsim.metrics.frechet import fd_name
        from semsim.models.provenance import encoder_info

        net = getattr(pl_module, "net", None)
        backbone = dict(
            getattr(pl_module, "backbone_info", None) or getattr(net, "backbone_info", None) or {}
        )
        backbone.setdefault("name", self.encoder_key)
        if stage == "pretrained":  # nothing trained yet: the weights as loaded
            backbone["frozen"] = True
        info, _ = encoder_info(SimpleNamespace(backbone_info=backbone, net=net), None, stage)
        if backbone.get("weights", "unknown") == "unknown":  # no provenance: the registry key
            info["key"] = default_key(self.encoder_key)
            info["fd_name"] = fd_name(info["key"])
        if net is not None and hasattr(net, "describe"):
            info.update({k: v for k, v in dict(net.describe()).items() if k not in info})
        return info

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> Report | None:
        dataset = labelled_test_set(trainer, "the class-similarity report")
        keep = per_class_subset(dataset.labels, self.max_per_class, self.seed)
        from semsim.data import Subset

        subset = Subset(dataset, keep)
        feats = embed_dataset(
            trainer, pl_module, subset, pl_module.embed, self.batch_size, self.num_workers
        )
        views = self.content_view(trainer, pl_module, subset)
        if trainer.global_rank != 0:
            return None
        log.info("similarity (%s): %d images, %d-d embeddings", stage, *feats.shape)
        concepts = head_concepts(pl_module, feats, stage)
        embedded = FeatureArrays(feats, subset.labels, subset.class_names, concepts, *views)
        report = analyse(
            embedded,
            encoder=self.encoder_info(pl_module, stage),
            inputs={"a": {**subset.describe(), "split": "test", "stage": stage}},
            scores=self.scores,
            class_matrices=True,
            n_bootstrap=self.n_bootstrap,
            seed=self.seed,
            title=f"semsim: class similarity of {dataset.name} ({stage})",
        )
        enrichment, thumbnails = evidence(embedded, None, subset, None, self.seed)
        report = assemble(report, enrichment, {})
        out = self.out_dir / stage
        write_files(report, out, thumbnails)
        log_report(trainer, report, out, f"similarity/{stage}", thumbnails)
        self.reports[stage] = report
        return report
