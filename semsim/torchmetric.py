"""semsim's scores as ``torchmetrics.Metric`` objects, for a training or evaluation loop.

:class:`SimilarityMetric` takes any registry scores (:data:`semsim.metrics.SCORES`; default the
registry's headline) and accumulates two sides, A (the reference) and B::

    metric = SimilarityMetric(["fd", "kid"], encoder="effnet_lite0")
    metric.update(real_images, which="a")       # (B, C, H, W) uint8 or floats in [0, 1]
    metric.update(fake_images, which="b")
    metric.compute()                            # {"fd": tensor(...), "kid": tensor(...)}

``update`` takes images (through the frozen encoder) or features ``(B, D)`` (plus the head's
logits ``concepts=(B, C)`` for a score that reads concepts). What each score keeps is decided
from the registry, not hard-coded: a score whose registry ``streaming`` function reads only the
running mean and covariance keeps float64 running sums (O(D^2) whatever n is; ``fd``,
``prototype_cosine``); every other score keeps the rows it reads (``"cat"`` states: features or
concepts) and runs its batch engine on all of them at ``compute()``, so it equals the batch
function on the same rows. All states are torchmetrics states: under DDP they are summed or
gathered across processes before ``compute()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F  # noqa: N812
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from semsim.metrics.registry import ScoreDef, StreamOptions, get_score, headline_def
from semsim.utils import did_you_mean

SIDES = ("a", "b")


class _NeedsSamples(Exception):
    pass


class _Probe:
    """Summaries whose ``samples()`` is off limits: tells which streaming scores read only sums."""

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return np.array([1.0, 0.5]), np.eye(2), np.array([0.5, 1.0]), 2 * np.eye(2)

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        raise _NeedsSamples


def from_running_sums(sdef: ScoreDef) -> bool:
    """Whether ``sdef`` is computed exactly from the running mean and covariance of each side."""
    if sdef.streaming is None:
        return False
    try:
        sdef.streaming(_Probe(), StreamOptions())
    except _NeedsSamples:
        return False
    except Exception:  # noqa: BLE001 - a score the probe cannot run keeps its rows
        return False
    return True


class _Sums:
    """The :class:`~semsim.metrics.registry.Summaries` of two sides' running sums."""

    def __init__(self, stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        self._stats = stats

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self._stats

    def samples(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - excluded above
        raise _NeedsSamples


def build_encoder(encoder: Any) -> torch.nn.Module:
    """A frozen :class:`~semsim.encoders.Encoder` from a ``conf/encoder`` name, an EncoderSpec or
    an Encoder (returned as is)."""
    from semsim.encoders import Encoder, EncoderSpec

    if isinstance(encoder, Encoder):
        return encoder
    if isinstance(encoder, str):
        from semsim.compare import build_encoder as from_config
        from semsim.overrides import check_overrides

        encoder = from_config(check_overrides("compare", [f"encoder={encoder}"]).encoder)
    if not isinstance(encoder, EncoderSpec):
        raise TypeError(
            f"encoder: expected a conf/encoder name, an EncoderSpec or an Encoder, "
            f"got {type(encoder).__name__}"
        )
    return encoder.build()


def preprocess(images: Tensor, data_config: dict[str, Any]) -> Tensor:
    """Images ``(B, C, H, W)`` (uint8, or floats in [0, 1]; C = 1 or 3) as the encoder's input:
    resized (shorter side to ``size / crop_pct``, antialiased), centre-cropped to ``size`` and
    normalised, as timm's eval transform does to a PIL image."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (B, 1 or 3, H, W), got {tuple(images.shape)}")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    _, h, w = data_config["input_size"]
    crop = float(data_config.get("crop_pct") or 1.0)
    scale = math.floor(h / crop)
    short = min(x.shape[-2:])
    size = (round(x.shape[-2] * scale / short), round(x.shape[-1] * scale / short))
    size = (max(size[0], h), max(size[1], w))
    mode = "bicubic" if data_config.get("interpolation") == "bicubic" else "bilinear"
    x = F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)
    top, left = (size[0] - h) // 2, (size[1] - w) // 2
    x = x[..., top : top + h, left : left + w].clamp(0, 1)
    mean = torch.tensor(data_config["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(data_config["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


class SimilarityMetric(Metric):
    """Registry scores of B against A, accumulated batch by batch (and across processes).

    Args:
        scores: a registry name, a list of them, or None for the registry's headline score.
            ``fd`` may be written ``fd_<encoder>``.
        encoder: what turns images into features: a ``conf/encoder`` name
            (``"effnet_lite0"``), an :class:`~semsim.encoders.EncoderSpec`, a built Encoder, or
            None (then ``update`` takes features).
        num_features: D, needed for running-sum scores when no encoder gives it.
        seed: seeds the scores that draw at random (KID subsets, C2ST folds).

    ``compute()`` returns a float64 scalar tensor for a single name given as a string (or the
    default headline), else ``{name: tensor}``.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better: bool | None = None

    def __init__(
        self,
        scores: str | Sequence[str] | None = None,
        encoder: Any = None,
        *,
        num_features: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if scores is None:
            head = headline_def()
            if head is None:
                raise ValueError("scores: the registry marks no headline score; name the scores")
            scores = head.name
        self.single = isinstance(scores, str)
        names = [scores] if isinstance(scores, str) else list(scores)
        if not names:
            raise ValueError("scores: name at least one registry score")
        self.defs = {name: get_score(name) for name in names}
        for name, d in self.defs.items():
            if d.input == "rendering":
                raise ValueError(
                    f"scores: {name} reads per-image rendering statistics of a pixel pass, which "
                    "this metric does not make; use semsim.compare (or leave it out)"
                )
        self.seed = int(seed)
        self.encoder = None if encoder is None else build_encoder(encoder)
        if self.encoder is not None:
            num_features = int(self.encoder.dim)
        self.summed = {n for n, d in self.defs.items() if from_running_sums(d)}
        rows = [d for n, d in self.defs.items() if n not in self.summed]
        # "features" and/or "concepts"; a content score reads the features it is given (give
        # features of images in one common rendering for a rendering-blind reading)
        self.keep = sorted({_rows_of(d) for d in rows})
        if self.summed and not num_features:
            raise ValueError(
                f"num_features: {sorted(self.summed)} keep running sums of D features; "
                "give num_features=D or an encoder"
            )
        self.num_features = num_features
        for side in SIDES:
            if self.summed:
                d = int(num_features)  # type: ignore[arg-type]
                zeros = torch.zeros
                self.add_state(f"{side}_sum", zeros(d, dtype=torch.float64), dist_reduce_fx="sum")
                self.add_state(
                    f"{side}_outer", zeros(d, d, dtype=torch.float64), dist_reduce_fx="sum"
                )
                self.add_state(f"{side}_n", zeros((), dtype=torch.float64), dist_reduce_fx="sum")
            for kind in self.keep:
                self.add_state(f"{side}_{kind}", [], dist_reduce_fx="cat")

    # --- update ---------------------------------------------------------------------------
    def _embed(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        if self.encoder is None:
            raise ValueError(
                "update: got images (B, C, H, W) but the metric has no encoder; give "
                "encoder='effnet_lite0' (or another) or pass features (B, D)"
            )
        x = preprocess(images, self.encoder.data_config).to(next(self.encoder.parameters()))
        with torch.no_grad():
            return self.encoder.encode(x)

    def update(
        self, x: Tensor | np.ndarray, which: str = "a", concepts: Tensor | np.ndarray | None = None
    ) -> None:
        """Add a batch to side ``which``: images ``(B, C, H, W)`` or features ``(B, D)`` (with
        ``concepts`` ``(B, C)``, the head's logits, when a score reads concepts)."""
        if which not in SIDES:
            raise ValueError(f"which={which!r}: choose 'a' or 'b'{did_you_mean(str(which), SIDES)}")
        x = torch.as_tensor(x)
        if x.ndim == 4:
            if concepts is not None:
                raise ValueError("concepts: pass them with features (B, D), not with images")
            feats, concepts = self._embed(x)
        elif x.ndim == 2:
            feats = x
            concepts = None if concepts is None else torch.as_tensor(concepts)
        else:
            raise ValueError(
                f"update: expected images (B, C, H, W) or features (B, D), got {tuple(x.shape)}"
            )
        feats = feats.detach().to(torch.float64)
        if not torch.isfinite(feats).all():
            raise ValueError("update: NaN or inf in the features")
        if self.num_features is not None and feats.shape[1] != self.num_features:
            raise ValueError(f"update: features have D={feats.shape[1]}, not {self.num_features}")
        if "concepts" in self.keep:
            if concepts is None:
                need = [n for n, d in self.defs.items() if d.input == "concepts"]
                raise ValueError(
                    f"concepts: {need} read the encoder head's logits; pass concepts=(B, C) "
                    "with the features, or images with an encoder that has a head"
                )
            if concepts.shape[0] != feats.shape[0]:
                raise ValueError(f"concepts: {concepts.shape[0]} rows for {feats.shape[0]}")
            getattr(self, f"{which}_concepts").append(concepts.detach().to(torch.float64))
        if "features" in self.keep:
            getattr(self, f"{which}_features").append(feats)
        if self.summed:
            setattr(self, f"{which}_sum", getattr(self, f"{which}_sum") + feats.sum(0))
            setattr(self, f"{which}_outer", getattr(self, f"{which}_outer") + feats.T @ feats)
            setattr(self, f"{which}_n", getattr(self, f"{which}_n") + feats.shape[0])

    def forward(self, *args: Any, **kwargs: Any) -> None:
        """``metric(x, which)`` = ``update``: a score of one batch of one side means nothing, so
        there is no per-batch value (torchmetrics' default would compute one)."""
        self.update(*args, **kwargs)

    # --- compute --------------------------------------------------------------------------
    def _moments(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        n = float(getattr(self, f"{side}_n"))
        if n < 2:
            raise ValueError(f"compute: side {side!r} has {int(n)} rows; running sums need >= 2")
        mu = getattr(self, f"{side}_sum") / n
        sigma = (getattr(self, f"{side}_outer") - n * torch.outer(mu, mu)) / (n - 1)
        return mu.cpu().numpy(), ((sigma + sigma.T) / 2).cpu().numpy()

    def _rows(self, side: str, kind: str) -> np.ndarray:
        state = getattr(self, f"{side}_{kind}")
        if isinstance(state, list) and not state:
            raise ValueError(f"compute: no rows on side {side!r}; call update(x, which={side!r})")
        return dim_zero_cat(state).cpu().numpy()

    def compute(self) -> Tensor | dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        results: dict[Any, dict[str, float]] = {}
        options = StreamOptions(seed=self.seed)
        sums = None
        for name, d in self.defs.items():
            if name in self.summed:
                if sums is None:
                    sums = _Sums((*self._moments("a"), *self._moments("b")))
                key: Any = ("stream", d.streaming)
                if key not in results:
                    results[key] = d.streaming(sums, options)  # type: ignore[misc]
            else:
                key = ("engine", d.engine, d.input)
                if key not in results:
                    engine = d.engine(seed=self.seed) if d.seeded else d.engine()
                    results[key] = engine(
                        self._rows("a", _rows_of(d)), self._rows("b", _rows_of(d))
                    )
            out[name] = torch.tensor(float(results[key][d.key]), dtype=torch.float64)
        return next(iter(out.values())) if self.single else out


def _rows_of(d: Any) -> str:
    """Which kept rows a score reads: its input, with ``content`` read from the features."""
    return "features" if d.input == "content" else d.input


class HeadlineSimilarity(SimilarityMetric):
    """The registry's headline score (whichever entry is marked ``headline``) as a metric;
    ``compute()`` returns a scalar tensor."""

    def __init__(self, encoder: Any = None, **kwargs: Any) -> None:
        super().__init__(None, encoder, **kwargs)
