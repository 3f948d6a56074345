"""What a score declares about itself: :class:`ScoreDef`, and the streaming protocol.

Each metric module declares its scores beside its maths, as a module-level tuple::

    SCORE_DEFS = (
        ScoreDef(name="kid", family="rendering", higher_is_more_similar=False, ...),
    )

and :mod:`semsim.metrics.registry` collects every ``SCORE_DEFS`` of the package (no import list
to edit). This module imports nothing of semsim but :mod:`semsim.metrics._common`, so every
metric module can import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from semsim.metrics._common import ArrayLike, PairEngine

ScoreFn = Callable[[np.ndarray, np.ndarray], float]
Family = Literal["content", "rendering"]
Input = Literal["features", "concepts"]
ReadingFn = Callable[[float, "tuple[float, float] | None", Mapping[str, float]], str]
"""``(value, ci, engine outputs) -> one-line reading`` of a score (e.g. for the headline)."""


@dataclass(frozen=True)
class StreamOptions:
    """Options of the sample-based streaming scores (:func:`semsim.metrics.summary_scores`)."""

    k: int = 5
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    cmmd_sigma: float = 10.0
    seed: int = 0


class Summaries(Protocol):
    """What a streaming score may read of two feature summaries (A the reference, B)."""

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mu_a (D,), sigma_a (D, D), mu_b, sigma_b)`` from running sums over every row."""
        ...

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounded uniform samples ``(x_a (m_a, D), x_b (m_b, D))`` of the two streams."""
        ...


StreamFn = Callable[[Summaries, StreamOptions], dict[str, float]]
"""How a score is computed from two summaries; scores sharing one function share one call."""

INF = float("inf")


@dataclass(frozen=True, kw_only=True)
class ScoreDef:
    """One named scalar score: everything about it except its maths (declared beside it).

    Attributes:
        name: registry key (and report name, except ``encoder_named`` scores).
        family: ``"content"`` (are the same things depicted in the same proportions?) or
            ``"rendering"`` (are they depicted the same way: resolution, blur, colour, artefacts?).
        higher_is_more_similar: direction of "more similar".
        range: ``(lo, hi)`` values the score can take (interval ends are clipped to it).
        meaning: one line for reports.
        paper: link to the defining paper ("" for the project's own scores).
        paper_title: title of that paper, for the report's references.
        min_n: fewest samples each set needs for a defined value.
        noise_floor: a divergence-like score whose split-half noise floor belongs in a report.
        engine: factory of the :class:`PairEngine` that computes it (shared by scores that come
            out of one computation, e.g. precision/recall/density/coverage).
        key: which engine output is this score (default: ``name``). Engine outputs
            ``<key>_<x>`` are side results of this score (``kid_std``); outputs matching no
            score key (``p_value``) belong to every score of the engine.
        order: position in reports and in ``scores: null`` (lower first; ties by name).
        streaming: how :func:`semsim.metrics.summary_scores` computes it from two running
            summaries, or ``None`` when it cannot stream.
        input: which array of a feature set the score reads: ``"features"`` (pooled pre-logit
            features) or ``"concepts"`` (the encoder's class-head logits).
        headline: the report's headline ``similarity`` is this score (the first such entry that
            has a value).
        interval: ``None``: a centred half-sample bootstrap interval; else the engine computes
            its own interval as outputs ``<key>_ci_low``/``<key>_ci_high`` and this string names
            the method.
        method: sentence(s) for the report's Method section (default: ``meaning``).
        reading: one-line reading of a value, for the headline.
        encoder_named: reported as ``<name>_<encoder key>`` (or ``fid``), since its value only
            means something next to its encoder (the Fréchet distance).
        seeded: the A-vs-B analysis builds the engine with its ``seed`` (``engine(seed=...)``);
            otherwise with the factory's defaults.
    """

    name: str
    family: Family
    higher_is_more_similar: bool
    range: tuple[float, float]
    meaning: str
    paper: str = ""
    paper_title: str = ""
    min_n: int
    noise_floor: bool
    engine: Callable[[], PairEngine]
    key: str = ""
    order: int = 1000
    streaming: StreamFn | None = None
    input: Input = "features"
    headline: bool = False
    interval: str | None = None
    method: str = ""
    reading: ReadingFn | None = None
    encoder_named: bool = False
    seeded: bool = False

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name)
        if self.family not in ("content", "rendering"):
            raise ValueError(f"ScoreDef {self.name!r}: family must be content or rendering")
        if not self.range[0] < self.range[1]:
            raise ValueError(f"ScoreDef {self.name!r}: range {self.range} is empty")

    def compute(self, a: ArrayLike, b: ArrayLike) -> float:
        """The score of ``b`` against ``a`` (``a`` is the reference where that matters)."""
        return self.engine()(a, b)[self.key]

    def report_name(self, encoder_key: str | None, explicit: str | None = None) -> str:
        """The name this score has in a report made with encoder ``encoder_key``: its registry
        name, or for an ``encoder_named`` score ``explicit`` (the encoder's own name for it, e.g.
        ``fid``) else ``<name>_<encoder key>``."""
        if not self.encoder_named:
            return self.name
        return str(explicit or f"{self.name}_{encoder_key or 'encoder'}")
