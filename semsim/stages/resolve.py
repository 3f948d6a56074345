"""Stage 1, resolve: a composed ``conf/compare.yaml`` -> one validated :class:`Run`.

Every check of a compare happens here, once, before any image is read (a folder is listed, no
file is opened): the options (typed, defaults from the yaml only), the collections, the plan of
class matrices, the score names, the encoder and whether to stream. Light to import: torch comes
in only once the cheap checks have passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from semsim.utils import check_compare_options, one_line, workers_value

if TYPE_CHECKING:
    from semsim.data.collection import ImageCollection
    from semsim.encoders import EncoderSpec

_LIGHTNING_PRECISION = {"32": "32-true", "bf16": "bf16-mixed", "16": "16-mixed"}
_TRAINER_KEYS = ("accelerator", "devices", "strategy", "num_nodes")


@dataclass(frozen=True)
class Options:
    """Every option of a compare, typed and checked (``conf/compare.yaml`` documents each)."""

    out_dir: Path
    scores: tuple[str, ...]
    matrix_scores: tuple[str, ...]
    class_matrices: bool  # decided: the collections' labels and the `class_matrices` option
    n_bootstrap: int
    noise_floor: bool
    device: str
    batch_size: int
    num_workers: int | str  # "auto": semsim.features.loop.resolve_workers
    cache_dir: Path | None
    shard_size: int | None
    streaming: bool
    sample_size: int
    precision: str
    channels_last: bool
    runtime: str
    progress: bool
    seed: int

    def extract_kwargs(self, multi_process: bool) -> dict[str, Any]:
        """Keyword arguments of :func:`semsim.features.extract_features` (a multi-process run
        embeds on each process's own device)."""
        return {
            "batch_size": self.batch_size, "num_workers": self.num_workers,
            "device": None if multi_process else self.device, "precision": self.precision,
            "channels_last": self.channels_last, "cache_dir": self.cache_dir,
            "progress": self.progress, "shard_size": self.shard_size, "runtime": self.runtime,
        }  # fmt: skip


@dataclass(frozen=True)
class Run:
    """What the later stages read: the options, the inputs and how to run."""

    options: Options
    collections: dict[str, ImageCollection]  # "a" and, when given, "b"
    sources: dict[str, DictConfig]  # their config nodes (the report's `source`)
    encoder: EncoderSpec
    trainer: Any  # a Lightning trainer for multi-process embedding, or None
    feature_bytes: int  # what the float32 feature matrices would take in memory
    overrides: tuple[str, ...]  # the command line's Hydra overrides, for the report


def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg[key]``; its default lives in conf/compare.yaml, so a missing key is an error."""
    try:
        return cfg[key]
    except (KeyError, OmegaConfBaseException) as e:
        raise ValueError(f"{key}: {one_line(e)} (conf/compare.yaml sets it)") from e


def _checked_int(cfg: DictConfig, key: str, low: int) -> int:
    value = _get(cfg, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{key}: expected an integer >= {low}, got {value!r}")
    return value


def _instantiate(node: DictConfig, what: str) -> Any:
    """``hydra.utils.instantiate`` with the underlying error surfaced as a one-line ValueError."""
    import hydra
    from hydra.errors import InstantiationException

    try:
        return hydra.utils.instantiate(node, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, (ValueError, TypeError, OSError)):
            raise ValueError(f"{what}: {one_line(cause)}") from cause
        raise ValueError(f"{what}: {one_line(e)}") from e
    except OmegaConfBaseException as e:
        raise ValueError(f"{what}: {one_line(e)}") from e


def build_collection(node: DictConfig, which: str) -> ImageCollection:
    """Instantiate collection ``which`` (``"a"``/``"b"``) from its config node."""
    from semsim.data.collection import ImageCollection

    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ValueError(
            f"{which}: expected a collection config (e.g. {which}=cifar10 {which}.root=PATH), "
            f"got {node!r}"
        )
    coll = _instantiate(node, which)
    if not isinstance(coll, ImageCollection):
        raise ValueError(
            f"{which}: {node._target_} returned {type(coll).__name__}, not a collection"
        )
    if len(coll) == 0:
        raise ValueError(f"{which}: collection {coll.name!r} holds no images")
    return coll


def build_encoder(node: DictConfig) -> EncoderSpec:
    """Instantiate the encoder spec and resolve its weights' provenance (fails fast offline)."""
    from semsim.encoders import EncoderSpec

    spec = _instantiate(node, "encoder")
    if not isinstance(spec, EncoderSpec):
        raise ValueError(f"encoder: expected an EncoderSpec, got {type(spec).__name__}")
    return spec


def build_trainer(node: DictConfig | None, precision: str) -> Any:
    """A Lightning trainer from the optional ``trainer`` group (``trainer=ddp trainer.devices=4``):
    only its process options are used; the encoder's precision is compare's ``precision``."""
    if node is None:
        return None
    from semsim.features import make_trainer, normalize_precision

    kwargs = {k: node[k] for k in _TRAINER_KEYS if k in node and node[k] is not None}
    kwargs = OmegaConf.to_container(OmegaConf.create(kwargs), resolve=True)
    assert isinstance(kwargs, dict)
    try:
        return make_trainer(
            **kwargs, precision=_LIGHTNING_PRECISION[normalize_precision(precision)]
        )
    except (ValueError, TypeError, RuntimeError) as e:
        raise ValueError(f"trainer: {one_line(e)}") from e


def _overrides() -> tuple[str, ...]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return ()
    return tuple(HydraConfig.get().overrides.task)


def resolve(cfg: DictConfig, say: Callable[[str], Any] = lambda _: None) -> Run:
    """Check everything and build the inputs; nothing is embedded or written yet. ``say`` gets
    the console notes (an option's caveat, inputs left out of the folder walks).

    Raises:
        ValueError: a bad option or input, one line naming it.
    """
    from semsim.analysis.plan import plan_matrices  # light: no torch

    # seed, batch_size, num_workers, n_bootstrap, device, image_size, out_dir, cache_dir
    for note in check_compare_options(cfg):
        say(note)
    n_bootstrap = int(_get(cfg, "n_bootstrap"))  # checked by check_compare_options
    sample_size = _checked_int(cfg, "sample_size", 1)
    shard_size = None if _get(cfg, "shard_size") is None else _checked_int(cfg, "shard_size", 1)
    cache = _get(cfg, "cache_dir")
    from semsim.guards import build_inputs  # out_dir left out of the inputs' folder walks

    out_dir = Path(str(cfg.out_dir)).expanduser()
    sources = {"a": _get(cfg, "a")} | ({"b": cfg.b} if cfg.get("b") is not None else {})
    coll_a, b = build_inputs(cfg, out_dir, build_collection, say)
    collections = {"a": coll_a} | ({"b": b} if b is not None else {})
    want_matrices = plan_matrices(
        a_labelled=collections["a"].is_labelled, b_given=b is not None,
        b_labelled=b is not None and b.is_labelled, class_matrices=_get(cfg, "class_matrices"),
    )  # fmt: skip
    # a bad path or option has been answered by now without torch; the rest needs it
    from semsim.analysis import score_names
    from semsim.scale import should_stream

    scores = score_names(_get(cfg, "scores"))  # null: every registry score
    matrix = _get(cfg, "matrix_scores")
    spec = build_encoder(_get(cfg, "encoder"))
    streaming, need = should_stream(
        _get(cfg, "streaming"), collections, spec, float(_get(cfg, "memory_budget_gb"))
    )
    if streaming and b is None:
        raise ValueError("streaming: needs two collections (a and b)")
    options = Options(
        out_dir=out_dir, scores=tuple(scores),
        matrix_scores=tuple(scores if matrix is None else score_names(list(matrix))),
        class_matrices=want_matrices, n_bootstrap=n_bootstrap,
        noise_floor=bool(_get(cfg, "noise_floor")), device=str(_get(cfg, "device")),
        batch_size=int(_get(cfg, "batch_size")), num_workers=workers_value(_get(cfg, "num_workers")),
        cache_dir=None if cache in (None, "", False) else Path(str(cache)).expanduser(),
        shard_size=shard_size, streaming=streaming, sample_size=sample_size,
        precision=str(_get(cfg, "precision")), channels_last=bool(_get(cfg, "channels_last")),
        runtime=str(_get(cfg, "runtime")),
        progress=bool(_get(cfg, "progress")), seed=int(_get(cfg, "seed")),
    )  # fmt: skip
    trainer = build_trainer(cfg.get("trainer"), options.precision)
    return Run(options, collections, sources, spec, trainer, need, _overrides())
