"""REAL vs FAKE similarity reports from inside a real/fake training run (experiment 2, CIFAKE).

:class:`RealFakeSimilarityCallback` embeds a per-(kind, class) subsample of the test set with the
model being trained (its pooled backbone embedding and its ``p`` = probability of FAKE, in one
pass) and writes, under ``<out_dir>/<stage>/`` (``fit``: last weights; ``test``: the tested ones):

- ``report.json`` / ``report.md`` in the report shape: REAL-vs-FAKE scores (Fréchet distance with
  its noise floor, named ``fid`` when the backbone is the frozen official FID InceptionV3 and
  ``fd_<encoder>`` otherwise; C2ST with its indistinguishability; any other registry score), the
  headline similarity, REAL-classes x FAKE-classes matrices (``attributes["class"]``: does a
  generated cat look most like a real cat?) and ``pair_score``: the distribution of the seed's
  ``1 - |p(x1) - p(x2)|`` over random real-real, fake-fake and real-fake pairs;
- a CSV and a PNG heatmap per matrix, ``pair_score.csv`` and ``pair_score.png`` (histograms).

All processes embed their share of the images; rank 0 alone computes, writes and logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from semsim.analysis import (
    class_matrix_results,
    compare_scores,
    headline,
    method_section,
    score_names,
)
from semsim.callbacks.embeddings import embed_dataset
from semsim.callbacks.similarity import log_report, per_class_subset
from semsim.callbacks.stages import StageReportCallback
from semsim.encoders import EncoderSpec
from semsim.report import MatrixResult, Report, ScoreResult, jsonable, write_report

log = logging.getLogger(__name__)

STAGES = ("fit", "test")
PAIR_TYPES = ("real_real", "fake_fake", "real_fake")
QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}

PAIR_MEANING = (
    "mean over all REAL x FAKE image pairs of the seed's pair score 1 - |p(x1) - p(x2)| "
    "(p = the head's P(FAKE)); compare with the real_real and fake_fake means"
)
CIFAKE_PAPER = "https://arxiv.org/abs/2303.14126"


# --- the pair score's distribution -----------------------------------------------------------
def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Exact mean of ``|a_i - b_j|`` over all ``len(a) * len(b)`` pairs, in O((n + m) log n)."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("mean_abs_diff needs two non-empty arrays")
    prefix = np.concatenate([[0.0], np.cumsum(a)])
    k = np.searchsorted(a, b, side="right")  # a[:k] <= b_j < a[k:]
    below = b * k - prefix[k]
    above = (prefix[-1] - prefix[k]) - b * (a.size - k)
    return float((below + above).sum() / (a.size * b.size))


def mean_abs_diff_within(a: np.ndarray) -> float:
    """Exact mean of ``|a_i - a_j|`` over the ``n (n - 1) / 2`` pairs ``i < j``."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    n = a.size
    if n < 2:
        raise ValueError("mean_abs_diff_within needs at least 2 values")
    weights = 2.0 * np.arange(n) - (n - 1)
    return float((weights * a).sum() / (n * (n - 1) / 2.0))


def _pairs(
    n_a: int, n_b: int | None, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Index pairs: all of them when there are at most ``n_pairs``, else ``n_pairs`` random ones
    (``i != j`` within one set). Returns ``(i, j, all_pairs)``."""
    if n_b is None:
        total = n_a * (n_a - 1) // 2
        if total <= n_pairs:
            i, j = np.triu_indices(n_a, k=1)
            return i, j, True
        i = rng.integers(0, n_a, n_pairs)
        j = (i + rng.integers(1, n_a, n_pairs)) % n_a  # uniform over j != i
        return i, j, False
    if n_a * n_b <= n_pairs:
        i, j = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
        return i.ravel(), j.ravel(), True
    return rng.integers(0, n_a, n_pairs), rng.integers(0, n_b, n_pairs), False


def summarize(values: np.ndarray) -> dict[str, float | int]:
    """``n, mean, std, min, q05, q25, median, q75, q95, max`` of ``values``."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    out: dict[str, float | int] = {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std())}
    out["min"] = float(v.min())
    out.update({k: float(np.quantile(v, q)) for k, q in QUANTILES.items()})
    out["max"] = float(v.max())
    return out


def pair_score_distribution(
    p_real: np.ndarray, p_fake: np.ndarray, n_pairs: int = 200_000, seed: int = 0
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The pair score ``1 - |p(x1) - p(x2)|`` over real-real, fake-fake and real-fake pairs.

    Every statistic but ``mean`` comes from all pairs when there are at most ``n_pairs`` of a type,
    else from ``n_pairs`` random pairs of distinct images; ``mean`` is always the exact mean over
    all pairs (:func:`mean_abs_diff`).

    Returns:
        ``({type: summary + n_images + all_pairs}, {type: the pair scores used})``; a type with
        too few images has ``{"n": 0, "skipped": reason}``.
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    rng = np.random.default_rng(seed)
    p_real = np.asarray(p_real, dtype=np.float64)
    p_fake = np.asarray(p_fake, dtype=np.float64)
    summary: dict[str, Any] = {}
    samples: dict[str, np.ndarray] = {}
    for kind in PAIR_TYPES:
        a = p_real if kind.startswith("real") else p_fake
        b = None if kind != "real_fake" else p_fake
        if (b is None and a.size < 2) or (b is not None and (a.size == 0 or b.size == 0)):
            summary[kind] = {"n": 0, "skipped": "too few images for a pair"}
            samples[kind] = np.zeros(0)
            continue
        i, j, complete = _pairs(a.size, None if b is None else b.size, n_pairs, rng)
        scores = 1.0 - np.abs(a[i] - (a if b is None else b)[j])
        entry: dict[str, Any] = summarize(scores)
        entry["mean"] = 1.0 - (mean_abs_diff_within(a) if b is None else mean_abs_diff(a, b))
        entry["all_pairs"] = complete
        entry["n_images"] = [int(a.size)] if b is None else [int(a.size), int(b.size)]
        summary[kind] = entry
        samples[kind] = scores
    return summary, samples


def _bootstrap_pair_mean(
    p_real: np.ndarray, p_fake: np.ndarray, n: int, seed: int, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile interval of the exact real-fake mean, resampling images (not pairs)."""
    if n < 2 or p_real.size < 2 or p_fake.size < 2:
        return None
    rng = np.random.default_rng(seed)
    reps = np.empty(n)
    for r in range(n):
        a = p_real[rng.integers(0, p_real.size, p_real.size)]
        b = p_fake[rng.integers(0, p_fake.size, p_fake.size)]
        reps[r] = 1.0 - mean_abs_diff(a, b)
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def save_pair_histogram(
    samples: dict[str, np.ndarray],
    p_real: np.ndarray,
    p_fake: np.ndarray,
    path: Path,
    bins: int = 50,
    title: str = "",
    names: tuple[str, str] = ("REAL", "FAKE"),
) -> Path:
    """Histograms of the pair scores by pair type (left) and of ``p`` by kind (right)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    colours = {"real_real": "tab:blue", "fake_fake": "tab:red", "real_fake": "tab:purple"}
    floor = 1.0
    for kind in PAIR_TYPES:
        s = samples.get(kind)
        if s is None or s.size == 0:
            continue
        floor = min(floor, 0.5 / s.size)
        ax1.hist(s, bins=edges, weights=np.full(s.size, 1.0 / s.size), histtype="step", lw=1.8,
                 color=colours[kind], label=f"{kind} (mean {s.mean():.3f})")  # fmt: skip
    ax1.set_xlabel("pair score 1 - |p(x1) - p(x2)|")
    ax1.set_ylabel("share of pairs")
    ax1.set_yscale("log")
    ax1.set_ylim(floor, 1.5)
    ax1.legend(loc="upper center", fontsize=8)
    ax1.set_title("pair score by pair type")
    floor = 1.0
    for p, name, colour in ((p_real, names[0], "tab:blue"), (p_fake, names[1], "tab:red")):
        if p.size:
            floor = min(floor, 0.5 / p.size)
            ax2.hist(p, bins=edges, weights=np.full(p.size, 1.0 / p.size), histtype="step",
                     lw=1.8, color=colour, label=f"{name} images (n={p.size})")  # fmt: skip
    ax2.set_xlabel(f"p = head's P({names[1]})")
    ax2.set_ylabel("share of images")
    ax2.set_yscale("log")
    ax2.set_ylim(floor, 1.5)
    ax2.legend(loc="upper center", fontsize=8)
    ax2.set_title("p by kind")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_pair_csv(summary: dict[str, Any], p_summary: dict[str, Any], path: Path) -> Path:
    """One row per pair type (and per kind for ``p``) with the summary statistics."""
    import csv

    cols = ["n", "mean", "std", "min", *QUANTILES, "max"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["quantity", *cols])
        for kind, s in summary.items():
            w.writerow([f"pair_score:{kind}", *(s.get(c, "") for c in cols)])
        for kind, s in p_summary.items():
            w.writerow([f"p:{kind}", *(s.get(c, "") for c in cols)])
    return path


def pair_matrix(
    p_real: np.ndarray,
    cls_real: np.ndarray,
    p_fake: np.ndarray,
    cls_fake: np.ndarray,
    class_names: Sequence[str],
) -> MatrixResult:
    """REAL-classes x FAKE-classes matrix of the mean pair score over all cross pairs."""
    rows = [int(c) for c in np.unique(cls_real)]
    cols = [int(c) for c in np.unique(cls_fake)]
    values = np.array(
        [
            [1.0 - mean_abs_diff(p_real[cls_real == r], p_fake[cls_fake == c]) for c in cols]
            for r in rows
        ]
    )
    return MatrixResult(
        values=values,
        row_labels=[str(class_names[r]) for r in rows],
        col_labels=[str(class_names[c]) for c in cols],
        higher_is_more_similar=True,
        meaning="mean pair score 1 - |p(x1) - p(x2)| over all (REAL row class, FAKE column "
        "class) image pairs",
        row_title="REAL",
        col_title="FAKE",
    )


@dataclass
class RealFakeResult:
    """What one stage produced: the report, its ``pair_score`` section and the raw pair scores."""

    report: Report
    pair_score: dict[str, Any]
    samples: dict[str, np.ndarray]
    p_real: np.ndarray
    p_fake: np.ndarray
    names: tuple[str, str]


# --- which encoder the features come from ----------------------------------------------------
def encoder_info(module: L.LightningModule, key: str | None, stage: str) -> tuple[dict, bool]:
    """The report's ``encoder`` entry, and whether the features are the official FID ones.

    The Fréchet distance is called ``fid`` only for the frozen ``inception_fid`` backbone with its
    pretrained (official TF 2015-12-05) weights; otherwise it is ``fd_<key>`` with the key saying
    what happened to the weights (``_random``, ``_finetuned``, ``_trained``).
    """
    from semsim.encoders import default_key, network

    info = dict(getattr(module, "backbone_info", {}) or {})
    net = getattr(module, "net", None)
    name = str(info.get("name") or getattr(net, "backbone_name", "model"))
    weights = str(info.get("weights", "unknown"))
    frozen = bool(info.get("frozen", False))
    registered = network(name)
    official_name = registered.official_fd_name if registered is not None else None
    official = official_name is not None and weights == "pretrained" and frozen
    if not frozen:
        state = "trained" if weights == "random-init" else "finetuned"
    else:
        state = "random" if weights == "random-init" else ""
    base = key or default_key(name)
    out_key = f"{base}_{state}" if state and not key else base
    out = {
        "name": name if (official or official_name is None) else f"{name}:{state or 'custom'}",
        "key": out_key,
        "fd_name": official_name if official else f"fd_{out_key}",
        "weights": weights,
        "frozen": frozen,
        "stage": stage,
        "features": "official FID protocol (TF1 bilinear resize to 299, pool3 2048-d)"
        if official
        else "pooled pre-logit backbone embedding, the model's eval preprocessing",
    }
    if net is not None and hasattr(net, "describe"):
        out["net"] = dict(net.describe())
    return out, official


class RealFakeSimilarityCallback(StageReportCallback):
    """REAL vs FAKE similarity of the test set, with the trained real/fake model, at chosen stages.

    The module must provide ``embed_and_proba(x) -> (B, D + 1)`` (embedding and ``p``),
    ``positive_index`` and ``backbone_info`` (:class:`semsim.models.RealFakeModule`). The test set
    must be labelled REAL/FAKE; CIFAR-10 classes come from ``attributes["class"]`` when present.

    The similarity scores and matrices measure the model's own backbone embedding, or, with
    ``encoder``, a separate frozen encoder (a fine-tuned detector's embedding is trained to pull
    REAL and FAKE apart, so its distances say more about the detector than about the images); the
    pair score always uses the trained model's ``p``.

    Args:
        stages: any of ``fit`` (after fitting, last weights) and ``test`` (after testing).
        scores: registry names of the REAL-vs-FAKE scores (``fd`` -> ``fid`` / ``fd_<key>``).
        matrix_scores: registry names of the REAL-classes x FAKE-classes matrices (``[]``: none);
            a ``pair_similarity`` matrix is always added when classes are known.
        encoder_key: names the embedding in score names (default: from the backbone).
        encoder: a frozen encoder for the scores and matrices instead of the model's backbone
            (``conf/encoder/*.yaml``); ``None``: the model's backbone.
        max_per_class: test images kept per (kind, class) group (seeded); ``None``: all.
        n_pairs: pair-score pairs per pair type (all pairs when there are fewer).
        n_bootstrap: half-sample replicates of score intervals (0: none); also the image
            bootstrap of the mean real-fake pair score.
        batch_size: embedding batch size.
        num_workers: DataLoader workers for embedding.
        hist_bins: bins of the histograms.
        seed: subsampling, pairs and resampling seed.
        out_dir: reports go to ``<out_dir>/<stage>/``.
    """

    STAGES = STAGES

    def __init__(
        self,
        stages: Sequence[str] = STAGES,
        scores: Sequence[str] | None = None,
        matrix_scores: Sequence[str] | None = None,
        encoder_key: str | None = None,
        encoder: EncoderSpec | None = None,
        max_per_class: int | None = 100,
        n_pairs: int = 200_000,
        n_bootstrap: int = 20,
        batch_size: int = 128,
        num_workers: int = 0,
        hist_bins: int = 50,
        seed: int = 0,
        out_dir: str = "similarity",
    ) -> None:
        super().__init__(stages, "callbacks.realfake")
        if n_pairs < 1:
            raise ValueError(f"callbacks.realfake.n_pairs must be >= 1, got {n_pairs}")
        if max_per_class is not None and max_per_class < 1:
            raise ValueError(f"callbacks.realfake.max_per_class must be >= 1, got {max_per_class}")
        self.scores = score_names(scores)  # None: every registry score
        self.matrix_scores = self.scores if matrix_scores is None else list(matrix_scores)
        self.encoder_key = encoder_key
        self.encoder = encoder
        self._built_encoder: Any = None
        self.max_per_class = max_per_class
        self.n_pairs = int(n_pairs)
        self.n_bootstrap = int(n_bootstrap)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.hist_bins = hist_bins
        self.seed = seed
        self.out_dir = Path(out_dir)
        self.results: dict[str, RealFakeResult] = {}

    # --- work ----------------------------------------------------------------------------
    def _subset(self, trainer: L.Trainer, pl_module: L.LightningModule):
        from semsim.data import Subset

        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "test_set"):
            raise ValueError("RealFakeSimilarityCallback needs a datamodule with a test_set")
        dataset = dm.test_set
        if dataset.labels is None:
            raise ValueError(f"{dataset.name}: the real/fake report needs a labelled test set")
        fake = (dataset.labels == pl_module.positive_index).astype(np.int64)
        cls = dataset.attributes.get("class")
        codes = fake * 1000 + (cls[0] if cls is not None else 0)
        keep = per_class_subset(codes, self.max_per_class, self.seed)
        return dataset, Subset(dataset, keep, name=f"{dataset.name}[{len(keep)}]")

    def run(
        self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str
    ) -> RealFakeResult | None:
        t0 = time.perf_counter()
        dataset, subset = self._subset(trainer, pl_module)
        enc, official = encoder_info(pl_module, self.encoder_key, stage)
        out = embed_dataset(
            trainer, pl_module, subset, pl_module.embed_and_proba, self.batch_size, self.num_workers
        )
        feats, p = out[:, :-1], out[:, -1].astype(np.float64)
        if self.encoder is not None:  # a separate frozen encoder measures the images
            if self._built_encoder is None:
                self._built_encoder = self.encoder.build()
            frozen = self._built_encoder.to(pl_module.device)
            feats = embed_dataset(
                trainer,
                pl_module,
                subset.with_transform(frozen.transform),
                frozen,
                self.batch_size,
                self.num_workers,
            )
            enc = {
                **self.encoder.provenance(),
                "stage": stage,
                "features": "a separate frozen encoder (p still comes from the trained model)",
            }
        elif official:  # FID proper: the same frozen network, with the TF1 resize of the protocol
            from semsim.encoders import Encoder

            fid_encoder = Encoder.from_backbone(pl_module.net.backbone, enc["key"], {})
            feats = embed_dataset(
                trainer,
                pl_module,
                subset.with_transform(fid_encoder.transform),
                fid_encoder,
                self.batch_size,
                self.num_workers,
            )
        if trainer.global_rank != 0:
            return None
        t_embed = time.perf_counter() - t0
        result = self.analyse(subset, feats, p, pl_module, enc, stage, dataset.name)
        report = result.report
        report.meta["embed_s"] = round(t_embed, 2)
        report.meta["total_s"] = round(time.perf_counter() - t0, 2)
        out_dir = self.out_dir / stage
        self.write(result, out_dir)
        log_report(trainer, report, out_dir, prefix=f"realfake/{stage}")
        pair = report.meta.get("pair_score_means", {})
        for lg in trainer.loggers:
            lg.log_metrics(
                {f"realfake/{stage}/pair_score/{k}": v for k, v in pair.items()},
                step=trainer.global_step,
            )
        self.results[stage] = result
        log.info(
            "real/fake similarity (%s): %d images, report in %s (%.1f s)",
            stage,
            len(subset),
            out_dir,
            report.meta["total_s"],
        )
        return result

    def analyse(
        self,
        subset: Any,
        feats: np.ndarray,
        p: np.ndarray,
        pl_module: L.LightningModule,
        enc: dict[str, Any],
        stage: str,
        dataset_name: str,
    ) -> RealFakeResult:
        """Scores, matrices and pair-score distribution of embedded test images."""
        pos = int(pl_module.positive_index)
        names = list(subset.class_names or ["REAL", "FAKE"])
        real_name, fake_name = names[1 - pos], names[pos]
        is_fake = subset.labels == pos
        cls = subset.attributes.get("class")
        timings: dict[str, float] = {}

        t = time.perf_counter()
        scores = compare_scores(
            feats[~is_fake],
            feats[is_fake],
            self.scores,
            encoder=enc,
            n_bootstrap=self.n_bootstrap,
            noise_floor=True,
            seed=self.seed,
        )
        timings["scores_s"] = time.perf_counter() - t

        p_real, p_fake = p[~is_fake], p[is_fake]
        summary, samples = pair_score_distribution(p_real, p_fake, self.n_pairs, self.seed)
        rf = summary["real_fake"]
        if rf.get("n"):
            scores["pair_similarity"] = ScoreResult(
                value=rf["mean"],
                ci=_bootstrap_pair_mean(p_real, p_fake, max(self.n_bootstrap, 0), self.seed),
                higher_is_more_similar=True,
                meaning=PAIR_MEANING,
                reference=CIFAKE_PAPER,
                extra={
                    "real_real_mean": summary["real_real"].get("mean"),
                    "fake_fake_mean": summary["fake_fake"].get("mean"),
                    "ci_method": "percentile bootstrap over images",
                },
            )
        else:
            scores["pair_similarity"] = ScoreResult.skip(
                "no REAL or no FAKE image in the test set", True, PAIR_MEANING, CIFAKE_PAPER
            )

        matrices: dict[str, MatrixResult] = {}
        skipped: dict[str, str] = {}
        if cls is not None and is_fake.any() and (~is_fake).any():
            codes, class_names = cls
            t = time.perf_counter()
            if self.matrix_scores:
                matrices, skipped = class_matrix_results(
                    feats[~is_fake],
                    codes[~is_fake],
                    class_names,
                    self.matrix_scores,
                    features_b=feats[is_fake],
                    labels_b=codes[is_fake],
                    class_names_b=class_names,
                    encoder=enc,
                    row_title=real_name,
                    col_title=fake_name,
                    seed=self.seed,
                )
            matrices["pair_similarity"] = pair_matrix(
                p_real, codes[~is_fake], p_fake, codes[is_fake], class_names
            )
            timings["matrices_s"] = time.perf_counter() - t
        elif cls is None:
            skipped["class matrices"] = "the test set carries no attributes['class']"

        target = is_fake.astype(np.int64)
        pair_section = {
            "definition": "1 - |p(x1) - p(x2)|",
            "p": f"the real/fake head's softmax probability of {fake_name}",
            "real_class": real_name,
            "fake_class": fake_name,
            **summary,
            "p_by_kind": {real_name: summarize(p_real), fake_name: summarize(p_fake)},
            "head_accuracy": float(((p > 0.5).astype(np.int64) == target).mean())
            if p.size
            else None,
            "histogram": "pair_score.png",
            "reference": "the seed's method; CIFAKE: Bird & Lotfi 2024, " + CIFAKE_PAPER,
        }
        used = list(dict.fromkeys([*self.scores, *self.matrix_scores]))
        method = method_section(enc, used, self.n_bootstrap, True)
        method["summary"] = (
            f"{method['summary']}\n\nHere A = the {real_name} and B = the {fake_name} test images, "
            f"up to {self.max_per_class} per CIFAR-10 class each, embedded by "
            + (
                "the frozen encoder above. "
                if self.encoder is not None
                else "the real/fake model's backbone. "
            )
            + "The pair score is the seed's per-image-pair similarity "
            "1 - |p(x1) - p(x2)| with p the trained head's probability of FAKE; `pair_score` "
            "gives its distribution over real-real, fake-fake and real-fake pairs (a head that "
            "separates the kinds well gives real_fake scores near 0 and same-kind scores near 1), "
            "`pair_similarity` its exact real-fake mean."
        )
        method["references"] = [
            *method.get("references", []),
            {
                "name": "CIFAKE",
                "title": "CIFAKE: image classification and explainable identification of "
                "AI-generated synthetic images (Bird & Lotfi 2024)",
                "url": CIFAKE_PAPER,
            },
        ]
        meta: dict[str, Any] = {
            "stage": stage,
            "seed": self.seed,
            "n_bootstrap": self.n_bootstrap,
            "noise_floor": True,
            "feature_dim": int(feats.shape[1]),
            "pair_score_means": {k: summary[k]["mean"] for k in PAIR_TYPES if summary[k].get("n")},
            **{k: round(v, 2) for k, v in timings.items()},
        }
        if skipped:
            meta["matrices_skipped"] = skipped
        inputs = {
            "a": _describe(subset, ~is_fake, real_name, dataset_name, stage),
            "b": _describe(subset, is_fake, fake_name, dataset_name, stage),
        }
        report = Report(
            inputs=inputs,
            encoder=enc,
            scores=scores,
            matrices=matrices,
            similarity=headline(scores, enc),
            method=method,
            meta=meta,
            title=f"semsim: {real_name} vs {fake_name} in {dataset_name} ({stage})",
        )
        return RealFakeResult(report, pair_section, samples, p_real, p_fake, (real_name, fake_name))

    def write(self, result: RealFakeResult, out_dir: Path) -> dict[str, Path]:
        """``write_report`` plus the ``pair_score`` section of report.json, its CSV and PNG."""
        files = write_report(result.report, out_dir)
        section = result.pair_score
        files["pair_score.png"] = save_pair_histogram(
            result.samples,
            result.p_real,
            result.p_fake,
            out_dir / "pair_score.png",
            bins=self.hist_bins,
            title=result.report.title,
            names=result.names,
        )
        summary = {k: section[k] for k in PAIR_TYPES}
        files["pair_score.csv"] = write_pair_csv(
            summary, section["p_by_kind"], out_dir / "pair_score.csv"
        )
        path = files["report.json"]
        data = json.loads(path.read_text(encoding="utf-8"))
        data["pair_score"] = jsonable(section)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return files


def _describe(subset: Any, mask: np.ndarray, kind: str, dataset: str, stage: str) -> dict:
    out: dict[str, Any] = {"name": f"{kind} images of {dataset}", "n_images": int(mask.sum())}
    out["stage"] = stage
    cls = subset.attributes.get("class")
    if cls is not None:
        codes, names = cls
        counts = np.bincount(codes[mask], minlength=len(names))
        out["classes"] = {str(n): int(c) for n, c in zip(names, counts, strict=True) if c}
    return out
