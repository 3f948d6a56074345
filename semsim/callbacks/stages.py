"""What the report callbacks share: the stage dispatch (run a report at chosen training stages),
the labelled test set, and the evidence galleries of a report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class StageReportCallback(Callback):
    """Calls ``self.run(trainer, pl_module, stage)`` at the stages it was given.

    Stages: ``pretrained`` (before the first training step), ``fit`` (after fit), ``test`` (after
    test). Subclasses set ``STAGES`` (the stages they support) and implement ``run``.
    """

    STAGES: tuple[str, ...] = ("pretrained", "fit", "test")

    def __init__(self, stages: Sequence[str], option: str) -> None:
        bad = [s for s in stages if s not in self.STAGES]
        if bad:
            raise ValueError(f"{option}.stages: unknown {bad}; choose from {self.STAGES}")
        self.stages = list(stages)

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> Any:
        raise NotImplementedError

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "pretrained" in self.stages and not trainer.sanity_checking:
            self.run(trainer, pl_module, "pretrained")

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "fit" in self.stages:
            self.run(trainer, pl_module, "fit")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "test" in self.stages:
            self.run(trainer, pl_module, "test")


def labelled_test_set(trainer: L.Trainer, report: str) -> Any:
    """The datamodule's ``test_set``; a clear error when there is none or it has no labels."""
    dm = trainer.datamodule
    if dm is None or not hasattr(dm, "test_set"):
        raise ValueError(f"{report} needs a datamodule with a test_set")
    if dm.test_set.labels is None:
        raise ValueError(f"{dm.test_set.name}: {report} needs a labelled test set")
    return dm.test_set


def evidence(a: Any, b: Any, coll_a: Any, coll_b: Any, seed: int) -> tuple[Any, Any]:
    """The compare's evidence stage (:func:`semsim.stages.enrich.evidence_sections`: galleries,
    and duplicates shared by A and B) for embedded test images; a failure is recorded in its
    ``meta`` instead of ending the run.

    Returns:
        ``(Enrichment, thumbnails(set, index) -> PIL image)``, the latter for report.html and the
        W&B galleries.
    """
    from semsim.evidence import thumbnail_loader
    from semsim.stages.enrich import Enrichment, evidence_sections

    try:
        got = evidence_sections(a, b, coll_a, coll_b, seed)
    except (ValueError, OSError) as e:
        got = Enrichment(meta={"evidence_skipped": " ".join(str(e).split())})
    return got, thumbnail_loader(coll_a, coll_b)


def add_evidence(report: Any, a: Any, b: Any, coll_a: Any, coll_b: Any, seed: int) -> Any:
    """:func:`evidence` written into ``report``'s sections and meta (the real/fake callback,
    which goes on editing its report); returns the thumbnail loader."""
    got, thumbnails = evidence(a, b, coll_a, coll_b, seed)
    report.sections.update(got.sections)
    report.meta.update(got.meta)
    return thumbnails
