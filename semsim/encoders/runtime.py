"""An optimised CPU inference runtime for frozen encoders: ONNX export, OpenVINO or ONNX Runtime.

A frozen :class:`~semsim.encoders.Encoder` is exported once to ONNX (``torch.onnx.export``, the
TorchScript exporter: a few seconds; OpenVINO's own converter from torch took 3x longer) into
``<cache_dir>/runtime/`` under a provenance key (the encoder's provenance, input shape, torch
version and exporter), checked against torch on a probe batch (features within
:data:`TOLERANCE` relative), and then run by the fastest runtime installed. Measured with
``bench/extract.py`` on the 2-core CPU: OpenVINO first, ONNX Runtime second (see docs/runtime.md).

``runtime`` options: ``auto`` (the first of :data:`PREFERENCE` that is installed, on a CPU, fp32,
one process, with a cache folder, for a collection of at least :data:`AUTO_MIN_IMAGES` images so
the one-off export pays back), ``torch`` (off), ``openvino`` or ``onnxruntime`` (whenever
possible). Anything that stops the runtime (not installed, the model does not export, an exported
file is corrupt) is said in one log line naming it, and the features come from torch instead.
The runtime that computed the features is part of their provenance (``runtime``), so cache entries
of different runtimes never mix.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsim.utils import RUNTIMES

if TYPE_CHECKING:  # torch is imported where it runs: the option check needs none
    import torch

log = logging.getLogger(__name__)

PREFERENCE = ("openvino", "onnxruntime")  # by measurement: bench/extract.py, docs/runtime.md
# the one-off export + compile + check (effnet_lite0 1.8 s, inception_fid 3.3 s on 2 quiet cores)
# pays back from about 90 images (OpenVINO 0.4 s vs torch 1.8 s a batch of 64 at 224 px)
AUTO_MIN_IMAGES = 200
TOLERANCE = 1e-4  # max |runtime - torch| / max |torch| on the probe batch
# images per OpenVINO inference request with several streams: each stream takes the next chunk as
# it finishes one; EfficientNet-Lite0 at 224 px ran 6.0 ms an image in chunks of 2-4 against 6.4
# in two halves of a 64-image batch (its depthwise layers' activations fit the caches);
# InceptionV3 the same either way; outputs identical (docs/runtime.md)
OV_CHUNK = 4
EXPORT_FORMAT = 1  # bump when the export recipe changes
OPSET = 17
_PACKAGE = {"openvino": "openvino", "onnxruntime": "onnxruntime"}

Encode = Callable[..., Any]  # (B, 3, H, W) tensor -> ((B, D) features, (B, C) logits or None)


class RuntimeUnavailable(RuntimeError):
    """The runtime cannot be used for this encoder (one line saying why)."""


def check_runtime(value: Any, option: str = "runtime") -> str:
    name = str(value).strip().lower()
    if name not in RUNTIMES:
        raise ValueError(f"{option}={value!r}: use one of {', '.join(RUNTIMES)}")
    return name


def _missing(name: str) -> list[str]:
    """Packages runtime ``name`` needs that are not installed (``onnx`` for the export)."""
    return [m for m in (_PACKAGE[name], "onnx") if importlib.util.find_spec(m) is None]


def installed(name: str) -> bool:
    return not _missing(name)


def runtime_tag(name: str) -> str:
    """``"torch"`` or ``"<runtime> <version>"``: what goes into the feature provenance."""
    if name == "torch":
        return "torch"
    return f"{name} {importlib.metadata.version(_PACKAGE[name])}"


def plan(
    requested: str,
    *,
    n_images: int,
    device: torch.device,
    precision: str,
    cache_dir: Path | None,
    distributed: bool,
) -> str:
    """The runtime to use (``"torch"`` or a name of :data:`PREFERENCE`), without touching files."""
    requested = check_runtime(requested)
    if requested == "torch":
        return "torch"
    auto = requested == "auto"
    why = None
    if device.type != "cpu":
        why = f"device {device.type} (the runtime is for CPUs)"
    elif precision != "32":
        why = f"precision {precision} (the runtime runs fp32)"
    elif distributed:
        why = "a multi-process run"
    elif cache_dir is None:
        why = "no cache folder to keep the exported model in"
    elif auto and n_images < AUTO_MIN_IMAGES:
        return "torch"  # the export would not pay back: quietly torch
    if why is not None:
        if not auto:
            log.warning("runtime=%s: not used with %s; torch instead", requested, why)
        return "torch"
    names = PREFERENCE if auto else (requested,)
    for name in names:
        if installed(name):
            return name
    if not auto:
        missing = " and ".join(_missing(requested)) or _PACKAGE[requested]
        log.warning("runtime=%s: %s is not installed; torch instead", requested, missing)
    return "torch"


def _exported(encoder: Any) -> Any:
    """What is exported: images -> features (and concept logits when the encoder has a head)."""
    from torch import nn

    class Exported(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            feats, logits = self.encoder.encode(x)
            return (feats,) if logits is None else (feats, logits)

    return Exported().eval()


def export_key(provenance: dict[str, Any], input_size: tuple[int, ...]) -> str:
    import torch

    material = {
        "encoder": {
            k: provenance.get(k) for k in ("name", "weights", "preprocessing", "output", "code")
        },
        "image_size": provenance.get("image_size"),
        "input": list(input_size),
        "torch": torch.__version__.split("+")[0],
        "opset": OPSET,
        "format": EXPORT_FORMAT,
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _paths(cache_dir: Path, encoder: Any) -> tuple[Path, Path, Path]:
    prov = encoder.provenance()
    key = export_key(prov, tuple(encoder.data_config["input_size"]))
    stem = Path(cache_dir).expanduser() / "runtime" / f"{prov.get('key', 'encoder')}-{key[:32]}"
    return stem.with_suffix(".onnx"), stem.with_suffix(".json"), stem.with_suffix(".failed")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _probe(encoder: Any, n: int = 2) -> torch.Tensor:
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, *encoder.data_config["input_size"], generator=gen) * 2 - 1


def _export(encoder: Any, onnx_path: Path) -> None:
    import torch

    wrapped = _exported(encoder)
    n_out = 1 if encoder.concept_names is None else 2
    names = ["features", "concepts"][:n_out]
    axes = {"images": {0: "batch"}, **{o: {0: "batch"} for o in names}}

    def write(tmp: Path) -> None:
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, (_probe(encoder),), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=["images"], output_names=names, dynamic_axes=axes,
            )  # fmt: skip

    _atomic(onnx_path, write)


@functools.cache
def _ov_core() -> Any:
    """One OpenVINO Core for the process, never released: a Core that goes unloads its CPU plugin,
    and after two had gone a fork (a DataLoader's workers) and then a subprocess crashed the
    process (SIGSEGV)."""
    import openvino as ov

    return ov.Core()


def _ov_streams(threads: int) -> int:
    """OpenVINO streams: one a thread (``SEMSIM_OV_STREAMS`` overrides; 1 = one stream using every
    thread, the latency mode)."""
    forced = os.environ.get("SEMSIM_OV_STREAMS", "").strip()
    return max(1, int(forced)) if forced.isdigit() else threads


def _settings(name: str) -> tuple[int, int]:
    """``(threads, streams)`` a runtime is compiled with: torch's thread count, and for OpenVINO
    its streams (:func:`_ov_streams`; 1 for the others). Part of the runtime memo's key."""
    import torch

    threads = max(1, torch.get_num_threads())
    return threads, _ov_streams(threads) if name == "openvino" else 1


def _compile(
    name: str, onnx_path: Path, settings: tuple[int, int] | None = None
) -> Callable[[np.ndarray], list[np.ndarray]]:
    threads, streams = settings or _settings(name)
    if name == "openvino":
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
        if streams > 1:  # one stream a core, each running its share of the batch
            config |= {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams}
        import openvino as ov

        compiled = _ov_core().compile_model(str(onnx_path), "CPU", config)
        n_out, lock = len(compiled.outputs), threading.Lock()
        queue = ov.AsyncInferQueue(compiled, streams)
        chunk = OV_CHUNK if streams > 1 else None  # one stream: the whole batch in one request

        def done(request: Any, slot: tuple[list, int]) -> None:
            got, j = slot  # the request's output buffers are reused: copied out
            got[j] = [request.get_output_tensor(i).data.copy() for i in range(n_out)]

        queue.set_callback(done)

        def run_ov(x: np.ndarray) -> list[np.ndarray]:
            step = chunk or max(len(x), 1)
            got: list = [None] * -(-len(x) // step)
            with lock:  # a memoised model may be shared by callers on several threads
                for j in range(len(got)):
                    queue.start_async({0: x[j * step : (j + 1) * step]}, (got, j))
                queue.wait_all()
            return [np.concatenate([g[i] for g in got]) for i in range(n_out)]

        return run_ov
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"images": x})


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-30))


_LOADED: dict[tuple[str, str, int, int], tuple[tuple[int, ...], Callable]] = {}
"""Compiled and checked runtimes of this process by ``(runtime, exported file, threads, streams)``
(:func:`_settings`), with the file's identity (inode, size, times) when it was checked: a
compare's second collection and its content views reuse the first's (compiling and checking cost
~0.8 s a call). A file rewritten since is loaded and checked again."""
_LOADED_MAX = 4


def _stamp(path: Path) -> tuple[int, ...]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def load(name: str, encoder: Any, cache_dir: Path) -> Encode:
    """``encode`` for ``encoder`` on runtime ``name``: exported (once) and checked against torch
    (once a process while the exported file is unchanged).

    Raises:
        RuntimeUnavailable: the model did not export, its exported file is corrupt, or the
            runtime disagrees with torch; one line naming the encoder and the file.
    """
    import torch

    onnx_path, meta_path, failed_path = _paths(cache_dir, encoder)
    label = f"{name} runtime for encoder {encoder.key}"
    if failed_path.exists():
        reason = failed_path.read_text().strip().splitlines()[0][:300]
        raise RuntimeUnavailable(f"{label}: could not export before ({reason}; {failed_path})")
    settings = _settings(name)
    memo_key = (name, str(onnx_path), *settings)
    memo = _LOADED.get(memo_key)
    if memo is not None and onnx_path.exists() and memo[0] == _stamp(onnx_path):
        return _encode_with(memo[1])
    if onnx_path.exists():
        meta = _read_meta(meta_path)
        if meta is None or meta.get("sha256") != _sha256(onnx_path):
            for p in (onnx_path, meta_path):  # the next run exports it again
                with contextlib.suppress(OSError):
                    p.unlink()
            raise RuntimeUnavailable(f"{label}: corrupt exported model {onnx_path} (removed)")
    else:
        try:
            _export(encoder, onnx_path)
        except Exception as e:  # noqa: BLE001 - any export failure: say it once, fall back
            reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
            _atomic(failed_path, lambda p: p.write_text(reason + "\n"))
            raise RuntimeUnavailable(f"{label}: the model does not export ({reason})") from e
        meta = {"sha256": _sha256(onnx_path), "encoder": encoder.provenance()}
        _atomic(meta_path, lambda p: p.write_text(json.dumps(meta, indent=1, default=str)))
    try:
        run = _compile(name, onnx_path, settings)
        x = _probe(encoder)
        got = run(x.numpy())
        with torch.inference_mode():
            feats, logits = encoder.encode(x)
        want = [feats.numpy()] + ([] if logits is None else [logits.numpy()])
        err = max(_max_rel(g, w) for g, w in zip(got, want, strict=True))
    except Exception as e:  # noqa: BLE001 - the runtime cannot load/run it: fall back
        msg = str(e).strip().splitlines()[0][:200] if str(e) else ""
        raise RuntimeUnavailable(
            f"{label}: {onnx_path} does not run ({type(e).__name__}: {msg})"
        ) from e
    if not err <= TOLERANCE:
        raise RuntimeUnavailable(
            f"{label}: differs from torch by {err:.1e} relative (> {TOLERANCE})"
        )
    while len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[memo_key] = (_stamp(onnx_path), run)
    return _encode_with(run)


def _encode_with(run: Callable[[np.ndarray], list[np.ndarray]]) -> Encode:
    import torch

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        outs = run(np.ascontiguousarray(x.float().numpy()))
        feats = torch.from_numpy(outs[0])
        return feats, (torch.from_numpy(outs[1]) if len(outs) > 1 else None)

    return encode


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_runtime(
    name: str, spec_or_encoder: Any, cache_dir: Path | None
) -> tuple[Any, Encode | None]:
    """``(built encoder, encode on runtime name)``; ``(encoder, None)`` after one warning line."""
    from semsim.encoders.encoder import EncoderSpec

    encoder = (
        spec_or_encoder.build() if isinstance(spec_or_encoder, EncoderSpec) else spec_or_encoder
    )
    try:
        if cache_dir is None:
            raise RuntimeUnavailable(
                f"{name} runtime: no cache folder to keep the exported model in"
            )
        return encoder, load(name, encoder, cache_dir)
    except RuntimeUnavailable as e:
        log.warning("%s; the features come from torch", e)
        return encoder, None
