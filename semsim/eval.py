"""Evaluate a trained checkpoint on a split it has not seen:
``python -m semsim.eval experiment=NAME ckpt_path=PATH data.root=PATH data.split=test``.

``evaluate(cfg)`` composes the same objects as training (:func:`semsim.train.build`), runs
``trainer.test`` with the checkpoint, and so writes what a training run writes after its test:
the test metrics (``test/acc``...) in the logger and ``metrics.json``, and every test-stage
callback report (``similarity/test/``). Nothing is trained or tuned here.

- The checkpoint supplies every weight, so the backbone is built without its pretrained weights
  (no download, nothing to supply offline).
- With ``data.split`` different from the training split, the test set is the whole eval split:
  ``data.max_per_class`` is dropped unless ``full_eval_split=false``.
- A checkpoint that records the images it was trained and selected on (``semsim.models.
  RealFakeModule`` does) is refused on any of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

from semsim.models.checkpoints import check_checkpoint, read_lightning_checkpoint, safe_loading
from semsim.models.provenance import item_ids
from semsim.train import build
from semsim.utils import cli_errors, print_config

log = logging.getLogger("semsim.eval")


def checkpoint_path(cfg: DictConfig) -> Path:
    """The ``ckpt_path`` option as a safe-to-read Lightning checkpoint (ValueError otherwise)."""
    if OmegaConf.is_missing(cfg, "ckpt_path") or not cfg.get("ckpt_path"):
        raise ValueError("ckpt_path=PATH is required: the checkpoint to evaluate")
    path = Path(str(cfg.ckpt_path)).expanduser()
    read_lightning_checkpoint(path, "ckpt_path")
    return path


def training_record(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """``checkpoint["semsim"]["data"]``: what the model was trained and selected on."""
    return (ckpt.get("semsim") or {}).get("data")


def check_unseen(test_set: Any, record: dict[str, Any] | None, ckpt: Path) -> int:
    """Raise when any test image was used to train or select the checkpoint.

    Returns:
        the number of test images checked (0 when the checkpoint keeps no record).
    """
    if record is None or record.get("seen_ids") is None:
        log.warning(
            "%s keeps no record of its training images: cannot check that %s is unseen",
            ckpt,
            getattr(test_set, "name", "the test set"),
        )
        return 0
    seen = np.asarray(record["seen_ids"], dtype=np.int64)
    ids = item_ids(test_set)
    overlap = int(np.isin(ids, seen).sum())
    if overlap:
        raise ValueError(
            f"{overlap} of the {len(ids)} test images of {test_set.name} were used to train or "
            f"select {ckpt} (trained on split {record.get('train_split')!r}, seed "
            f"{record.get('seed')}, val_fraction {record.get('val_fraction')}, test_fraction "
            f"{record.get('test_fraction')}); evaluate on a held-out split (data.split=test) or "
            "with the training run's data options"
        )
    return len(ids)


def _prepare(cfg: DictConfig) -> None:
    """Weights come from the checkpoint; the eval split is used whole."""
    with open_dict(cfg):
        net = cfg.model.get("net")
        if net is not None:
            if "pretrained" in net:
                net.pretrained = False
            if "checkpoint" in net:
                net.checkpoint = None
        split = cfg.data.get("split")
        train_split = (cfg.data.get("datamodule") or {}).get("train_split", "train")
        if cfg.get("full_eval_split", True) and split != train_split:
            if cfg.data.get("max_per_class") is not None:
                log.info("testing on all of split %r (data.max_per_class dropped)", split)
                cfg.data.max_per_class = None
        elif split == train_split:
            log.warning(
                "data.split=%r is also the training split: testing on the part carved from it "
                "(the same carve as training only with the training run's seed and fractions)",
                split,
            )


def evaluate(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Test ``cfg.ckpt_path`` on ``cfg.data.split``. Returns ``(metrics, objects)``."""
    ckpt = checkpoint_path(cfg)
    _prepare(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    objects = build(cfg)
    trainer, model, dm = objects["trainer"], objects["model"], objects["datamodule"]
    test_set = dm.test_set
    record = training_record(check_checkpoint(ckpt, "ckpt_path", model))
    checked = check_unseen(test_set, record, ckpt)
    log.info("evaluating %s on %s (%d images)", ckpt, test_set.name, len(test_set))
    with safe_loading(ckpt):
        trainer.test(model=model, datamodule=dm, ckpt_path=str(ckpt), weights_only=True)
    metrics = {k: _scalar(v) for k, v in trainer.callback_metrics.items()}
    summary = {
        "checkpoint": str(ckpt),
        "split": cfg.data.get("split"),
        "test_set": test_set.describe(),
        "unseen_checked": checked,
        "metrics": metrics,
    }
    out = Path(str(cfg.paths.output_dir))
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for k in sorted(metrics):
        if k.startswith("test/"):
            log.info("%s = %.4f", k, metrics[k])
    return metrics, objects


def _scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "numel") and v.numel() == 1 else v


@cli_errors
def task(cfg: DictConfig) -> None:
    """Hydra task: evaluate, then print the test metrics and the run folder."""
    if cfg.get("extras", {}).get("print_config"):
        print_config(cfg)
    metrics, _ = evaluate(cfg)
    from semsim.cli import summarize_run

    print("\n".join(summarize_run(cfg.paths.output_dir, metrics)), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI (``semsim eval`` / ``python -m semsim.eval``): overrides are checked first."""
    from semsim.cli import run_hydra

    run_hydra("eval", argv, task)


if __name__ == "__main__":
    main()
