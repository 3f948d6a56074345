"""REAL vs FAKE similarity reports from inside a real/fake training run (experiment 2, CIFAKE).

A thin adapter: it embeds a per-(kind, class) subsample of the test set with the model being
trained (embedding and ``p`` = P(FAKE) in one pass), hands the REAL and FAKE features to
:func:`semsim.analysis.analyse` (the scores, matrices and headline of ``semsim.compare``), adds
the seed's pair score (:mod:`semsim.callbacks.realfake_report`: ``pair_similarity`` and
``sections["pair_score"]``) and writes ``<out_dir>/<stage>/``. All processes embed their share of
the images; rank 0 alone computes, writes and logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from semsim.analysis import analyse, score_names
from semsim.callbacks.embeddings import embed as embed_features
from semsim.callbacks.embeddings import embed_dataset
from semsim.callbacks.loggers import log_report
from semsim.callbacks.realfake_report import (
    RealFakeResult,
    add_pair_score,
    describe_kind,
    note_method,
)
from semsim.callbacks.similarity import FeatureArrays, per_class_subset
from semsim.callbacks.stages import StageReportCallback, add_evidence, labelled_test_set
from semsim.data import Subset
from semsim.encoders import EncoderSpec
from semsim.models.provenance import encoder_info

log = logging.getLogger(__name__)

__all__ = ["RealFakeResult", "RealFakeSimilarityCallback", "encoder_info"]


class RealFakeSimilarityCallback(StageReportCallback):
    """REAL vs FAKE similarity of the test set, with the trained real/fake model, at chosen stages.

    The module provides ``embed_and_proba``, ``positive_index`` and ``backbone_info``
    (:class:`semsim.models.RealFakeModule`); the test set is labelled REAL/FAKE, with CIFAR-10
    classes in ``attributes["class"]`` when known. Scores and matrices measure the model's backbone
    embedding or, with ``encoder``, a separate frozen encoder; the pair score uses the model's ``p``.

    Args:
        stages: any of ``fit`` (after fitting, last weights) and ``test`` (after testing).
        scores: registry names of the REAL-vs-FAKE scores; ``None``: every registry score.
        matrix_scores: registry names of the REAL x FAKE class matrices (``None``: ``scores``;
            ``[]``: none); a ``pair_similarity`` matrix is always added when classes are known.
        encoder_key: names the embedding in score names (default: from the backbone).
        encoder: a frozen encoder (``conf/encoder/*.yaml``) for scores and matrices; ``None``: the
            model's backbone.
        max_per_class: test images kept per (kind, class) group (seeded); ``None``: all.
        n_pairs: pair-score pairs per pair type (all pairs when there are fewer).
        n_bootstrap: interval replicates of the scores and of the mean pair score (0: none).
        batch_size, num_workers: embedding loader. hist_bins: bins of the histograms.
        seed: subsampling, pairs and resampling seed.
        out_dir: reports go to ``<out_dir>/<stage>/``.
    """

    STAGES = ("fit", "test")

    def __init__(
        self,
        stages: Sequence[str] = STAGES,
        scores: Sequence[str] | None = None,
        matrix_scores: Sequence[str] | None = None,
        encoder_key: str | None = None,
        encoder: EncoderSpec | None = None,
        max_per_class: int | None = 100,
        n_pairs: int = 200_000,
        n_bootstrap: int = 20,
        batch_size: int = 128,
        num_workers: int = 0,
        hist_bins: int = 50,
        seed: int = 0,
        out_dir: str = "similarity",
    ) -> None:
        super().__init__(stages, "callbacks.realfake")
        if n_pairs < 1:
            raise ValueError(f"callbacks.realfake.n_pairs must be >= 1, got {n_pairs}")
        if max_per_class is not None and max_per_class < 1:
            raise ValueError(f"callbacks.realfake.max_per_class must be >= 1, got {max_per_class}")
        self.scores = score_names(scores)  # None: every registry score
        self.matrix_scores = list(self.scores if matrix_scores is None else matrix_scores)
        self.encoder_key, self.encoder, self._built_encoder = encoder_key, encoder, None
        self.max_per_class, self.n_pairs = max_per_class, int(n_pairs)
        self.n_bootstrap = int(n_bootstrap)
        self.batch_size, self.num_workers, self.hist_bins = batch_size, num_workers, hist_bins
        self.seed, self.out_dir = seed, Path(out_dir)
        self.results: dict[str, RealFakeResult] = {}

    def run(
        self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str
    ) -> RealFakeResult | None:
        from semsim.encoders import Encoder

        t0 = time.perf_counter()
        dataset = labelled_test_set(trainer, "the real/fake report")
        fake = (dataset.labels == pl_module.positive_index).astype(np.int64)
        cls = dataset.attributes.get("class")
        keep = per_class_subset(
            fake * 1000 + (cls[0] if cls is not None else 0), self.max_per_class, self.seed
        )
        subset = Subset(dataset, keep, name=f"{dataset.name}[{len(keep)}]")
        enc, official = encoder_info(pl_module, self.encoder_key, stage)

        def embed(ds: Any, fn: Any) -> np.ndarray:
            return embed_dataset(trainer, pl_module, ds, fn, self.batch_size, self.num_workers)

        out = embed(subset, pl_module.embed_and_proba)
        feats, p = out[:, :-1], out[:, -1].astype(np.float64)
        frozen = None
        if self.encoder is not None:  # a separate frozen encoder measures the images
            if self._built_encoder is None:
                self._built_encoder = self.encoder.build()
            frozen = self._built_encoder.to(pl_module.device)
            enc = {**self.encoder.provenance(), "stage": stage,
                   "features": "a separate frozen encoder (p still comes from the trained model)"}  # fmt: skip
        elif official:  # FID proper: the same frozen network, with the TF1 resize of the protocol
            frozen = Encoder.from_backbone(pl_module.net.backbone, enc["key"], {})
        concepts = None
        if frozen is not None:  # its own head's logits come along: the content headline's input
            got = embed_features(
                trainer, subset.with_transform(frozen.transform), frozen,
                batch_size=self.batch_size, num_workers=self.num_workers, device=pl_module.device,
            )  # fmt: skip
            feats, concepts = got.features, got.concepts
        if trainer.global_rank != 0:
            return None
        views = self.content_view(subset, pl_module) if self.encoder is not None else None
        t_embed = time.perf_counter() - t0
        result = self.analyse(
            subset, feats, p, pl_module, enc, stage, dataset.name, concepts, views
        )
        report = result.report
        report.meta.update(embed_s=round(t_embed, 2), total_s=round(time.perf_counter() - t0, 2))
        out_dir = self.out_dir / stage
        self.write(result, out_dir)
        log_report(trainer, report, out_dir, f"realfake/{stage}", result.thumbnails)
        means = report.meta["pair_score_means"]
        pair = {f"realfake/{stage}/pair_score/{k}": v for k, v in means.items()}
        for lg in trainer.loggers:
            lg.log_metrics(pair, step=trainer.global_step)
        self.results[stage] = result
        log.info("real/fake similarity (%s): %d images, report in %s", stage, len(subset), out_dir)
        return result

    def content_view(self, subset: Any, pl_module: Any) -> tuple[np.ndarray, np.ndarray]:
        """Content features and rendering statistics of REAL and FAKE in their common rendering
        (the two headlines' inputs), in ``subset`` order, with the frozen encoder."""
        from semsim.features.content import content_arrays

        fake = subset.labels == int(pl_module.positive_index)
        colls = {
            "a": Subset(subset, np.flatnonzero(~fake)),
            "b": Subset(subset, np.flatnonzero(fake)),
        }
        extract = {"batch_size": self.batch_size, "num_workers": self.num_workers,
                   "device": pl_module.device, "progress": False}  # fmt: skip
        got = content_arrays(colls, self.encoder, extract)
        content = np.zeros((len(subset), got["a"][0].shape[1]), np.float32)
        rendering = np.zeros((len(subset), got["a"][1].shape[1]))
        for w, m in (("a", ~fake), ("b", fake)):
            content[m], rendering[m] = got[w]
        return content, rendering

    def analyse(
        self, subset: Any, feats: np.ndarray, p: np.ndarray, pl_module: Any, enc: dict[str, Any],
        stage: str, dataset_name: str, concepts: np.ndarray | None = None,
        views: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RealFakeResult:  # fmt: skip
        """Scores, matrices (:func:`semsim.analysis.analyse`) and the pair score of embedded
        test images: ``feats`` ``(N, D)`` and ``p`` ``(N,)`` in ``subset`` order."""
        pos = int(pl_module.positive_index)
        names = list(subset.class_names or ["REAL", "FAKE"])
        real_name, fake_name = names[1 - pos], names[pos]
        is_fake = subset.labels == pos
        cls = subset.attributes.get("class")
        codes, cnames = cls if cls is not None else (None, None)
        side = lambda m: FeatureArrays(  # noqa: E731
            feats[m], None if codes is None else codes[m], cnames,
            None if concepts is None else concepts[m],
            None if views is None else views[0][m], None if views is None else views[1][m],
        )  # fmt: skip
        report = analyse(
            side(~is_fake), side(is_fake), encoder=enc, scores=self.scores,
            matrix_scores=self.matrix_scores or None,
            class_matrices=bool(self.matrix_scores) and codes is not None,
            inputs={"a": describe_kind(subset, ~is_fake, real_name, dataset_name, stage),
                    "b": describe_kind(subset, is_fake, fake_name, dataset_name, stage)},
            n_bootstrap=self.n_bootstrap, noise_floor=True, seed=self.seed,
            title=f"semsim: {real_name} vs {fake_name} in {dataset_name} ({stage})",
        )  # fmt: skip
        for m in report.matrices.values():
            m.row_title, m.col_title = real_name, fake_name
        real, fake = (Subset(subset, np.flatnonzero(m)) for m in (~is_fake, is_fake))
        thumbs = add_evidence(report, side(~is_fake), side(is_fake), real, fake, self.seed)
        p_real, p_fake = p[~is_fake], p[is_fake]
        classes = None if codes is None else (codes[~is_fake], codes[is_fake], cnames)
        samples = add_pair_score(
            report, p_real, p_fake, (real_name, fake_name), classes,
            self.n_pairs, self.n_bootstrap, self.seed,
        )  # fmt: skip
        report.meta["stage"] = stage
        frozen = self.encoder is not None
        embedded = "the frozen encoder above" if frozen else "the real/fake model's backbone"
        note_method(report, (real_name, fake_name), self.max_per_class, embedded, codes is not None)
        return RealFakeResult(report, samples, p_real, p_fake, (real_name, fake_name), thumbs)

    def write(self, result: RealFakeResult, out_dir: Path) -> dict[str, Path]:
        """The report files plus ``pair_score.png`` and ``pair_score.csv``."""
        return result.write(out_dir, self.hist_bins)
