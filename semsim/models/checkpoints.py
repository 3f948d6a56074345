"""Loading Lightning checkpoints without running code from them.

A ``.ckpt`` is a pickle; ``torch.load(weights_only=False)`` (what Lightning does when asked to)
would run any payload in it. Every checkpoint a command is given goes through
:func:`check_checkpoint` first: it must load with ``weights_only=True`` plus an allow-list of
plain-data classes (OmegaConf containers in hyper-parameters, paths), be a Lightning checkpoint
(a ``state_dict``), be of the module type the run builds, and fit the model's parameters. Lightning
then loads it with ``weights_only=True`` inside :func:`safe_loading`, which allows exactly the
classes the check found (all plain data).
"""

from __future__ import annotations

import importlib
import os
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

_OPTION_PREFIX = "encoder.checkpoint: "  # what semsim.encoders.read_checkpoint names


def read_lightning_checkpoint(path: str | os.PathLike[str], option: str) -> dict[str, Any]:
    """Read ``path`` without running code from it; it must be a Lightning checkpoint.

    Args:
        path: the file.
        option: the command-line option that named it (``ckpt_path``, ``ckpt``), for messages.

    Raises:
        ValueError: one line naming ``option`` and the file: missing, not a torch file, holding
            classes that could run code, or without a ``state_dict``.
    """
    from semsim.encoders import EncoderError, read_checkpoint
    from semsim.encoders.weights import not_a_checkpoint

    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"{option}: no such file: {p}")
    try:
        ckpt = read_checkpoint(p)
    except EncoderError as e:
        reason = str(e).removeprefix(_OPTION_PREFIX)
        raise ValueError(
            f"{option}: {p} is not a checkpoint semsim can load safely: {reason}"
        ) from e
    except Exception as e:  # torch's own errors for files that are no torch checkpoint at all
        reason = " ".join(str(e).split())
        raise ValueError(f"{option}: {not_a_checkpoint(p)} ({reason})") from e
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise ValueError(
            f"{option}: {p} is not a Lightning checkpoint (no state_dict); give a .ckpt written "
            "by semsim.train (RUN/checkpoints/*.ckpt)"
        )
    return ckpt


def checkpoint_kind(ckpt: dict[str, Any]) -> str:
    """The module type a checkpoint was written by (``classifier`` or ``realfake``); checkpoints
    from before the type was recorded are classifiers unless they say ``realfake``."""
    return str((ckpt.get("semsim") or {}).get("module") or "classifier")


def check_checkpoint(
    path: str | os.PathLike[str], option: str, model: torch.nn.Module | None = None
) -> dict[str, Any]:
    """:func:`read_lightning_checkpoint`, then (with ``model``) check that it was written by the
    same module type and that its ``state_dict`` fits the model's parameter names and shapes.

    Raises:
        ValueError: one line naming ``option``, the file and what does not fit.
    """
    ckpt = read_lightning_checkpoint(path, option)
    if model is None:
        return ckpt
    kind, want = checkpoint_kind(ckpt), getattr(model, "KIND", None)
    if want is not None and kind != want:
        raise ValueError(
            f"{option}: {path} is a {kind} checkpoint, but this run builds a {want} model "
            f"(model={want}); use the experiment it was trained with"
        )
    state, own = ckpt["state_dict"], model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        what = "; ".join(
            f"{label}: {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
            for label, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("shape", shapes),
            )
            if items
        )
        raise ValueError(
            f"{option}: {path} does not fit the configured model ({what}); compose the run with "
            "the model options it was trained with"
        )
    return ckpt


def _resolve(qualname: str) -> Any:
    if qualname == "typing.Any":
        return typing.Any
    module, _, attr = qualname.rpartition(".")
    return getattr(importlib.import_module(module), attr)


@contextmanager
def safe_loading(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Allow, for ``torch.load(weights_only=True)``, the plain-data classes that ``path`` needs.

    Call only after :func:`check_checkpoint` accepted ``path`` (it refuses any class off the
    allow-list). ``None``: nothing to allow.
    """
    if path is None:
        yield
        return
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(Path(path).expanduser()))
    with torch.serialization.safe_globals([_resolve(n) for n in names]):
        yield
