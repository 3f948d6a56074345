"""Glue for the entry points: building lists of objects from config, loggers, CLI errors."""

from __future__ import annotations

import difflib
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterable
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


class UsageError(ValueError):
    """A command-line mistake: shown as one line ``error: ...``, exit status 2."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the nearest of ``choices`` (difflib), or ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""


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
# script, or main() called from Python); Hydra would look for a `conf` package otherwise. An
# installed wheel carries them as semsim/conf (copied there by setup.py's build step); a checkout
# (and an editable install) reads the top-level conf/.
_PACKAGED_CONF = Path(__file__).resolve().parent / "conf"
CONF_DIR = str(
    _PACKAGED_CONF if _PACKAGED_CONF.is_dir() else Path(__file__).resolve().parents[1] / "conf"
)


def _int_option(
    cfg: DictConfig, key: str, default: int, low: int | None = None, name: str | None = None
) -> int:
    value = cfg.get(key, default)
    key = name or key
    value = default if value is None else value
    want = "an integer" if low is None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UsageError(f"{key}: expected {want}, got `{value}`")
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{key}: expected {want}, got `{value}`") from None
    if low is not None and number < low:
        raise UsageError(f"{key}: expected an integer >= {low}, got {number}")
    return number


def check_device(device: str, option: str = "device") -> None:
    """Raise UsageError unless ``device`` names a device this machine has (imports torch unless
    it is ``auto`` or ``cpu``)."""
    name = str(device).strip().lower()
    if name in ("auto", "cpu"):
        return
    import torch

    kind, _, index = name.partition(":")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UsageError(f"{option}={device}: no CUDA GPU on this machine; use {option}=cpu")
        if index and (not index.isdigit() or int(index) >= count):
            raise UsageError(f"{option}={device}: this machine has cuda:0..cuda:{count - 1}")
        return
    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise UsageError(f"{option}={device}: MPS is not available here; use {option}=cpu")
        return
    raise UsageError(
        f"{option}={device}: unknown device{did_you_mean(kind, ['auto', 'cpu', 'cuda', 'mps'])}"
        " (auto, cpu, cuda, cuda:N, mps)"
    )


def check_writable_dir(path: str | os.PathLike[str], option: str, fix: str = "") -> Path:
    """Raise UsageError unless ``path`` is, or can be created as, a writable folder.

    Creates nothing: the nearest existing ancestor must be a writable folder.
    """
    full = Path(path).expanduser()
    probe = full
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    hint = f" ({fix})" if fix else f" (set {option}=DIR)"
    if not probe.is_dir():
        raise UsageError(f"{option}: {full} cannot be a folder: {probe} is a file{hint}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {probe} is not writable{hint}")
    return full


def workers_value(value: Any) -> int | str:
    """``num_workers`` as the embedding takes it: ``"auto"`` or a count (validated before, by
    :func:`check_compare_options`)."""
    text = str(value).strip().lower()
    if text == "auto":
        return text
    if isinstance(value, bool) or not text.isdigit():
        raise UsageError(f"num_workers: expected an integer >= 0 or auto, got `{value}`")
    return int(text)


RUNTIMES = ("auto", "torch", "openvino", "onnxruntime")  # the encoder's CPU inference runtimes


def check_compare_options(cfg: DictConfig) -> list[str]:
    """Validate ``semsim.compare``'s options before any data is read or any cache entry looked up.

    Checks ``seed``, ``batch_size`` (1 to :data:`semsim.guards.MAX_BATCH_SIZE`), ``num_workers``
    (``auto`` or an integer >= 0), ``n_bootstrap`` (0 or 2 to :data:`semsim.guards.MAX_BOOTSTRAP`), ``device`` (present on
    this machine), ``encoder.image_size`` (one batch fits in memory), and ``out_dir`` and
    ``cache_dir`` with a real create/write/remove (:func:`semsim.guards.probe_dir`). Raises
    :class:`UsageError` (a ValueError) naming the option.

    Returns:
        console notes announcing large work (e.g. a large ``n_bootstrap``).
    """
    from omegaconf.errors import OmegaConfBaseException

    from semsim import guards

    _int_option(cfg, "seed", 0)
    batch_size = _int_option(cfg, "batch_size", 64, low=1)
    workers_value(cfg.get("num_workers", "auto"))
    n_bootstrap = _int_option(cfg, "n_bootstrap", 50, low=0)
    if n_bootstrap == 1:
        raise UsageError("n_bootstrap: expected 0 (no intervals) or >= 2, got 1")
    notes = [n for n in [guards.check_work_bounds(n_bootstrap, batch_size)] if n]
    check_device(str(cfg.get("device") or "auto"))
    runtime = str(cfg.get("runtime", "auto")).strip().lower()
    if runtime not in RUNTIMES:  # semsim.encoders.runtime runs them; this module imports no torch
        raise UsageError(f"runtime={cfg.get('runtime')!r}: use one of {', '.join(RUNTIMES)}")
    encoder = cfg.get("encoder")
    if isinstance(encoder, DictConfig) and encoder.get("image_size") is not None:
        size = _int_option(encoder, "image_size", 224, low=1, name="encoder.image_size")
        guards.check_image_memory(size, batch_size)
    if os.environ.get("SEMSIM_CACHE") and not os.environ.get("SEMSIM_CACHE_DIR"):
        log.warning("SEMSIM_CACHE is not read: the feature cache folder is set by SEMSIM_CACHE_DIR")
    try:
        out_dir = cfg.out_dir
    except OmegaConfBaseException as e:
        raise UsageError(f"out_dir: {one_line(e)} (set out_dir=DIR)") from e
    guards.probe_dir(str(out_dir), "out_dir")
    cache = cfg.get("cache_dir")
    if cache not in (None, "", False):
        guards.probe_dir(
            str(cache), "cache_dir", "set cache_dir=DIR or SEMSIM_CACHE_DIR, or cache_dir=null"
        )
    return notes
