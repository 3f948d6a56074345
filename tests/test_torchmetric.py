"""semsim.torchmetric: registry scores as torchmetrics metrics, equal to the batch functions on
the same rows (fed in uneven batches, and across two gloo processes), with clear errors."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from semsim.metrics import SCORES
from semsim.torchmetric import HeadlineSimilarity, SimilarityMetric, from_running_sums, preprocess
from tests.conftest import ROOT
from tests.helpers import run_gloo


def _data(seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    xa, xb = rng.normal(size=(61, 6)), rng.normal(size=(47, 6)) * 1.3 + 0.4
    ca, cb = rng.normal(size=(61, 12)) * 3, rng.normal(size=(47, 12)) * 3
    return xa, xb, ca, cb


def _feed(metric: SimilarityMetric, x: np.ndarray, c: np.ndarray, which: str, step: int) -> None:
    for i in range(0, len(x), step):
        metric.update(torch.from_numpy(x[i : i + step]), which, concepts=c[i : i + step])


def test_every_registry_score_equals_its_batch_function() -> None:
    """Fed in uneven batches, each score equals the registry's batch computation on all rows."""
    xa, xb, ca, cb = _data()
    names = [n for n, d in SCORES.items() if d.input != "rendering"]  # no pixel pass here
    metric = SimilarityMetric(names, num_features=6, seed=3)
    assert metric(torch.from_numpy(xa[:17]), "a", concepts=ca[:17]) is None  # forward = update
    _feed(metric, xa[17:], ca[17:], "a", 17)
    _feed(metric, xb, cb, "b", 10)
    got = metric.compute()
    assert set(got) == set(names)
    for name, sdef in ((n, SCORES[n]) for n in names):
        engine = sdef.engine(seed=3) if sdef.seeded else sdef.engine()
        a, b = (ca, cb) if sdef.input == "concepts" else (xa, xb)
        want = engine(a, b)[sdef.key]
        assert float(got[name]) == pytest.approx(want, rel=1e-9, abs=1e-12), name


def test_running_sum_scores_match_numpy_and_scipy() -> None:
    """The running-sum scores against an independent float64 computation (numpy, scipy sqrtm)."""
    xa, xb, _, _ = _data(1)
    metric = SimilarityMetric(["fd", "prototype_cosine"], num_features=6)
    assert metric.summed == {"fd", "prototype_cosine"} and metric.keep == []  # no rows kept
    for i in range(0, 61, 8):
        metric.update(xa[i : i + 8], "a")
    metric.update(xb, "b")
    got = metric.compute()
    ma, mb = xa.mean(0), xb.mean(0)
    sa, sb = np.cov(xa, rowvar=False), np.cov(xb, rowvar=False)
    fd = ((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * scipy.linalg.sqrtm(sa @ sb).real)
    assert float(got["fd"]) == pytest.approx(fd, rel=1e-8)
    cos = ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)
    assert float(got["prototype_cosine"]) == pytest.approx(cos, rel=1e-12)


def test_what_each_score_keeps_comes_from_the_registry() -> None:
    """Mean/covariance scores keep sums; a score needing samples or concepts keeps its rows."""
    kinds = {n: from_running_sums(d) for n, d in SCORES.items()}
    for name, sdef in SCORES.items():
        if sdef.streaming is None:
            assert not kinds[name], name
    assert kinds["fd"] and kinds["prototype_cosine"] and not kinds["kid"]
    metric = SimilarityMetric(["kid", "concept_similarity"])
    assert metric.summed == set() and metric.keep == ["concepts", "features"]


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
def test_headline_metric_is_the_registry_headline() -> None:
    """HeadlineSimilarity follows the registry's headline entry and returns a scalar tensor."""
    from semsim.metrics import headline_def

    head = headline_def()
    assert head is not None
    xa, xb, ca, cb = _data(2)
    metric = HeadlineSimilarity()
    assert list(metric.defs) == [head.name]
    _feed(metric, xa, ca, "a", 30)
    _feed(metric, xb, cb, "b", 30)
    value = metric.compute()
    a, b = (ca, cb) if head.input == "concepts" else (xa, xb)  # content: the features given
    engine = head.engine(seed=0) if head.seeded else head.engine()
    assert value.ndim == 0 and float(value) == pytest.approx(engine(a, b)[head.key], rel=1e-9)
    metric.reset()
    with pytest.raises(ValueError, match="no rows on side 'a'"):
        metric.compute()


@pytest.mark.slow  # builds an encoder (~10 s of CPU; 90 s at load 14)
def test_images_go_through_the_encoder_with_its_preprocessing() -> None:
    """update(images) = update(features of the encoder on its preprocessing); the tensor
    preprocessing matches the encoder's own PIL transform (timm) to < 0.02 (normalised units)."""
    from PIL import Image

    from semsim.encoders import EncoderSpec

    spec = EncoderSpec(pretrained=False, image_size=64)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (6, 8, 8, 3), dtype=np.uint8)
    imgs = np.stack(
        [np.asarray(Image.fromarray(x).resize((32, 32), Image.BILINEAR)) for x in small]
    )
    metric = SimilarityMetric(["fd", "kid"], encoder=spec)
    encoder = metric.encoder
    ref = torch.stack([encoder.transform(Image.fromarray(x)) for x in imgs])
    tensors = torch.from_numpy(imgs).permute(0, 3, 1, 2)
    x = preprocess(tensors, encoder.data_config)
    assert x.shape == ref.shape and float((x - ref).abs().max()) < 0.02
    metric.update(tensors[:4], "a")
    metric.update(tensors[2:].float() / 255, "b")  # floats in [0, 1] read like uint8
    with torch.no_grad():
        fa = encoder(preprocess(tensors[:4], encoder.data_config)).double().numpy()
        fb = encoder(preprocess(tensors[2:], encoder.data_config)).double().numpy()
    got = metric.compute()
    assert float(got["kid"]) == pytest.approx(SCORES["kid"].compute(fa, fb), rel=1e-4, abs=1e-9)
    assert float(got["fd"]) == pytest.approx(SCORES["fd"].compute(fa, fb), rel=1e-4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SimilarityMetric("fdd", num_features=3), "unknown score 'fdd'"),
        (lambda: SimilarityMetric("fd"), "num_features"),
        (lambda: SimilarityMetric("fd", encoder=3.5), "encoder: expected"),
        (lambda: SimilarityMetric("fd", encoder="effnet_lite"), "did you mean `effnet_lite0`"),
    ],
)
def test_bad_construction(make, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_bad_updates_name_the_argument() -> None:
    metric = SimilarityMetric(["fd", "concept_similarity"], num_features=3)
    x = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="which='bb': choose 'a' or 'b'; did you mean `b`"):
        metric.update(x, "bb")
    with pytest.raises(ValueError, match="concepts: .*concept_similarity"):
        metric.update(x, "a")
    with pytest.raises(ValueError, match="no encoder"):
        metric.update(torch.zeros(2, 3, 8, 8), "a")
    with pytest.raises(ValueError, match="D=5, not 3"):
        metric.update(torch.zeros(4, 5), "a", concepts=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN"):
        metric.update(torch.full((4, 3), float("nan")), "a", concepts=torch.zeros(4, 2))


_DDP_SCRIPT = """
import os, sys
import numpy as np
import torch
import torch.distributed as dist

torch.set_num_threads(1)
dist.init_process_group("gloo")
from semsim.torchmetric import SimilarityMetric

rank = dist.get_rank()
rng = np.random.default_rng(0)
xa, xb = rng.normal(size=(61, 6)), rng.normal(size=(47, 6)) * 1.3 + 0.4
ca, cb = rng.normal(size=(61, 12)) * 3, rng.normal(size=(47, 12)) * 3
metric = SimilarityMetric(sys.argv[2].split(","), num_features=6, seed=3)
# uneven shards: rank 0 takes the first 40 A rows and 10 B rows
sa, sb = (slice(0, 40), slice(0, 10)) if rank == 0 else (slice(40, 61), slice(10, 47))
metric.update(torch.from_numpy(xa[sa]), "a", concepts=ca[sa])
metric.update(torch.from_numpy(xb[sb]), "b", concepts=cb[sb])
out = metric.compute()
np.savez(os.path.join(sys.argv[1], f"rank{rank}.npz"), **{k: v.numpy() for k, v in out.items()})
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_states_sync_across_two_gloo_processes(tmp_path: Path) -> None:
    """Two processes each see part of A and B; both compute the whole-data batch values."""
    names = ["fd", "prototype_cosine", "kid", "precision", "concept_similarity"]
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(_DDP_SCRIPT))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run_gloo(script, [str(tmp_path), ",".join(names)], tmp_path, env)
    xa, xb, ca, cb = _data()
    for r in range(2):
        got = np.load(tmp_path / f"rank{r}.npz")
        for name in names:
            sdef = SCORES[name]
            engine = sdef.engine(seed=3) if sdef.seeded else sdef.engine()
            a, b = (ca, cb) if sdef.input == "concepts" else (xa, xb)
            want = engine(a, b)[sdef.key]
            assert float(got[name]) == pytest.approx(want, rel=1e-9, abs=1e-12), (r, name)


@pytest.mark.slow  # Lightning start-up
def test_usable_in_a_lightning_module(tmp_path: Path) -> None:
    """A user's LightningModule updates the metric in validation_step and logs it: the logged
    value is the batch function on all validation rows."""
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    xa, xb, _, _ = _data(4)
    rows = torch.from_numpy(np.vstack([xa[:40], xb[:40]]))
    side = torch.tensor([0] * 40 + [1] * 40)

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(6, 1)
            self.similarity = SimilarityMetric("fd", num_features=6)

        def validation_step(self, batch, _):
            x, s = batch
            self.similarity.update(x[s == 0], "a")
            self.similarity.update(x[s == 1], "b")
            self.log("val/fd", self.similarity, on_epoch=True, batch_size=len(x))

    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    loader = DataLoader(TensorDataset(rows, side), batch_size=16, shuffle=True)
    (out,) = trainer.validate(Module(), loader, verbose=False)
    want = SCORES["fd"].compute(xa[:40], xb[:40])
    assert out["val/fd"] == pytest.approx(want, rel=1e-5)
