"""Glue for the entry points: building lists of objects from config, loggers, CLI errors."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("semsim")

F = TypeVar("F", bound=Callable[..., Any])


def instantiate_list(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` entry of a mapping (callbacks, loggers); skip the rest."""
    from hydra.utils import instantiate

    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"expected a mapping of configs, got {type(cfg).__name__}")
    return [instantiate(c) for c in cfg.values() if isinstance(c, DictConfig) and "_target_" in c]


def wandb_is_configured() -> bool:
    """True when W&B has credentials (env var, or `wandb login` in ~/.netrc) or a mode is set."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def wandb_logger(
    project: str,
    name: str | None,
    save_dir: str,
    offline: bool | None = None,
    tags: list[str] | None = None,
    log_model: bool = False,
):
    """A Lightning ``WandbLogger`` that never prompts: offline unless W&B is configured.

    Offline runs are written under ``<save_dir>/wandb/offline-run-*``; ``wandb sync`` uploads them.
    """
    from lightning.pytorch.loggers import WandbLogger

    if offline is None:
        offline = not wandb_is_configured() or os.environ.get("WANDB_MODE") == "offline"
    if offline:
        os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=project,
        name=name,
        save_dir=save_dir,
        offline=offline,
        tags=list(tags) if tags else None,
        log_model=log_model,
    )


def print_config(cfg: DictConfig) -> None:
    """Print the composed config as YAML (rich syntax highlighting when on a terminal)."""
    text = OmegaConf.to_yaml(cfg, resolve=False)
    try:
        from rich.console import Console
        from rich.syntax import Syntax

        Console(stderr=True).print(Syntax(text, "yaml", theme="ansi_dark"))
    except ImportError:  # pragma: no cover
        print(text, file=sys.stderr)


def one_line(err: BaseException) -> str:
    """An error message folded onto one line."""
    return " ".join(str(err).split())


def cli_errors(fn: F) -> F:
    """Turn input errors (bad path, option, image, weights) into one line on stderr, exit 2.

    Errors raised inside ``hydra.utils.instantiate`` are unwrapped to their cause, so the user sees
    ``error: <what> ...`` rather than Hydra's wrapper. ``SEMSIM_DEBUG=1`` re-raises instead.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hydra.errors import InstantiationException
        from omegaconf.errors import OmegaConfBaseException

        try:
            return fn(*args, **kwargs)
        except (
            ValueError,
            FileNotFoundError,
            OmegaConfBaseException,
            InstantiationException,
        ) as err:
            if os.environ.get("SEMSIM_DEBUG"):
                raise
            cause = err
            while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
                cause = cause.__cause__
            if isinstance(
                cause, (ValueError, OSError, OmegaConfBaseException, InstantiationException)
            ):
                print(f"error: {one_line(cause)}", file=sys.stderr)
                sys.exit(2)
            raise

    return wrapper  # type: ignore[return-value]


# absolute, so that the configs are found however an entry point is started (python -m, a console
# script, or main() called from Python); Hydra would look for a `conf` package otherwise
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
