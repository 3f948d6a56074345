"""Training entry point: ``python -m semsim.train experiment=NAME [overrides]``.

``train(cfg)`` builds data, model, callbacks, loggers and trainer from the composed config, fits,
tests with the best checkpoint, and returns ``(metrics, objects)``. A checkpoint given as
``ckpt_path`` (resume, or test only) is checked before any work and loaded without running code
from it (:mod:`semsim.models.checkpoints`); ``main`` only wraps it,
returns ``cfg.optimized_metric`` for sweepers and records it in ``<run dir>/optimized_metric.json``
(rank 0).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from semsim.data import build_datamodule
from semsim.models.checkpoints import check_checkpoint, safe_loading
from semsim.utils import cli_errors, instantiate_list, print_config

log = logging.getLogger("semsim.train")


def build(cfg: DictConfig) -> dict[str, Any]:
    """Data module, model, callbacks, loggers and trainer, wired together."""
    datamodule = build_datamodule(cfg.data)
    datamodule.setup()  # class names are needed to size the head
    if cfg.model.net.get("num_classes") is None:
        with open_dict(cfg):
            cfg.model.net.num_classes = datamodule.num_classes
    model = instantiate(cfg.model)
    datamodule.set_data_config(model.net.data_config)
    callbacks = instantiate_list(cfg.get("callbacks"))
    loggers = instantiate_list(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return {
        "cfg": cfg,
        "datamodule": datamodule,
        "model": model,
        "callbacks": callbacks,
        "logger": loggers,
        "trainer": trainer,
    }


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit and/or test as configured. Returns ``(metrics, objects)``."""
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    objects = build(cfg)
    trainer, model, dm = objects["trainer"], objects["model"], objects["datamodule"]
    check_launch(trainer)
    for lg in objects["logger"]:
        lg.log_hyperparams(_flat_config(cfg))

    given = cfg.get("ckpt_path") or None
    if given is not None:  # refused before any work when it is not a safe, fitting checkpoint
        check_checkpoint(given, "ckpt_path", model)

    if cfg.get("train"):
        log.info("fit")
        with safe_loading(given):
            trainer.fit(model=model, datamodule=dm, ckpt_path=given, weights_only=True)
    train_metrics = dict(trainer.callback_metrics)

    test_metrics: dict[str, Any] = {}
    if cfg.get("test"):
        ckpt = _best_checkpoint(trainer) if cfg.get("train") else given
        log.info("test (checkpoint: %s)", ckpt or "current weights")
        if ckpt is not None and ckpt != given:
            check_checkpoint(ckpt, "ckpt_path", model)
        with safe_loading(ckpt):
            trainer.test(model=model, datamodule=dm, ckpt_path=ckpt, weights_only=True)
        test_metrics = dict(trainer.callback_metrics)

    metrics = {k: _scalar(v) for k, v in {**train_metrics, **test_metrics}.items()}
    return metrics, objects


def _best_checkpoint(trainer: L.Trainer) -> str | None:
    cb = trainer.checkpoint_callback
    path = getattr(cb, "best_model_path", "") if cb is not None else ""
    if not path:
        log.warning("no best checkpoint was saved; testing the current weights")
        return None
    return path


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, torch.Tensor) and v.numel() == 1 else v


def _flat_config(cfg: DictConfig) -> dict[str, Any]:
    from omegaconf import OmegaConf

    resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    return {k: resolved[k] for k in ("data", "model", "trainer", "seed", "tags") if k in resolved}


def check_launch(trainer: L.Trainer) -> None:
    """Refuse a script-relaunching DDP strategy inside a local Hydra multirun.

    Lightning's ``ddp`` starts the extra processes by running the command line again, which in a
    multirun (``-m``) would start the whole sweep again in every process.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    launcher = getattr(trainer.strategy, "launcher", None)
    if launcher is None or type(launcher).__name__ != "_SubprocessScriptLauncher":
        return
    if trainer.world_size < 2:
        return
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        raise ValueError(
            "trainer.strategy=ddp relaunches the command line once per process, which would "
            "restart the whole multirun sweep: sweep DDP runs with hydra/launcher=slurm "
            "(tasks_per_node = trainer.devices; SLURM starts the processes), or sweep locally "
            "with a single-device trainer"
        )


def write_optimized_metric(cfg: DictConfig, metrics: dict[str, Any], value: float | None) -> Path:
    """Write ``<run dir>/optimized_metric.json`` (name, value, overrides, every scalar metric)."""
    from hydra.core.hydra_config import HydraConfig

    out = Path(str(cfg.paths.output_dir))
    job: dict[str, Any] = {}
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        job = {"num": hc.job.get("num"), "overrides": list(hc.overrides.task)}
    record = {
        "name": cfg.get("optimized_metric"),
        "value": value,
        "job": job,
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, int | float)},
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "optimized_metric.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def optimized_value(cfg: DictConfig, metrics: dict[str, Any]) -> float | None:
    """The value sweepers optimise, or ``None`` when none is configured."""
    name = cfg.get("optimized_metric")
    if not name:
        return None
    if name not in metrics:
        raise ValueError(
            f"optimized_metric={name!r} was not logged; logged: {', '.join(sorted(metrics))}"
        )
    return float(metrics[name])


@cli_errors
def task(cfg: DictConfig) -> float | None:
    """Hydra task: train, record ``optimized_metric``, end with a summary (rank 0)."""
    if cfg.get("extras", {}).get("print_config"):
        print_config(cfg)
    metrics, objects = train(cfg)
    value = optimized_value(cfg, metrics)
    log.info("%s = %s", cfg.get("optimized_metric"), value)
    if objects["trainer"].global_rank == 0:
        write_optimized_metric(cfg, metrics, value)
        from semsim.cli import summarize_run

        print("\n".join(summarize_run(cfg.paths.output_dir, metrics)), flush=True)
    return value


def main(argv: Sequence[str] | None = None) -> None:
    """CLI (``semsim train`` / ``python -m semsim.train``): overrides are checked first."""
    from semsim.cli import run_hydra

    run_hydra("train", argv, task)


if __name__ == "__main__":
    main()
