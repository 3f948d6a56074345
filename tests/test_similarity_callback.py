"""The similarity-matrix callback inside real training runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semsim.callbacks import per_class_subset
from semsim.report import validate_report_dict
from semsim.train import train
from tests.conftest import compose

SMOKE_WITH_SIMILARITY = [
    "experiment=smoke",
    "callbacks=similarity",
    "callbacks.similarity.scores=[prototype_cosine,fd]",
    "callbacks.similarity.max_per_class=null",
    "trainer.max_epochs=1",
]


def _load(path: Path) -> dict:
    data = json.loads(path.read_text())
    validate_report_dict(data)
    return data


def test_reports_at_every_stage_match_independent_computation(tmp_path: Path):
    cfg = compose("train", SMOKE_WITH_SIMILARITY, tmp_path)
    _, objects = train(cfg)
    names = objects["datamodule"].class_names
    for stage in ("pretrained", "fit", "test"):
        report = _load(tmp_path / "similarity" / stage / "report.json")
        m = report["matrices"]["prototype_cosine"]
        assert m["labels"] == names
        assert np.asarray(m["values"]).shape == (len(names), len(names))
        assert (tmp_path / "similarity" / stage / "prototype_cosine.png").stat().st_size > 0
        assert (tmp_path / "similarity" / stage / "prototype_cosine.csv").exists()
        # random-init smoke backbone: random features before fitting, a trained encoder after
        state = "random" if stage == "pretrained" else "trained"
        assert f"fd_{cfg.model.net.backbone}_{state}" in report["matrices"]

    # the "test" matrix equals one computed here, independently, from the tested weights
    model, dm = objects["model"], objects["datamodule"]
    test_set = dm.test_set
    model.eval()
    with torch.no_grad():
        x = torch.stack([test_set[i][0] for i in range(len(test_set))])
        emb = model.embed(x).double().numpy()
    labels = test_set.labels
    protos = np.stack([emb[labels == c].mean(0) for c in range(len(names))])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    expected = protos @ protos.T
    got = np.asarray(_load(tmp_path / "similarity" / "test" / "report.json")["matrices"]
                     ["prototype_cosine"]["values"])  # fmt: skip
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # training moved the embedding: the matrices before and after fit differ
    before = _load(tmp_path / "similarity" / "pretrained" / "report.json")
    after = _load(tmp_path / "similarity" / "fit" / "report.json")
    assert not np.allclose(
        before["matrices"]["prototype_cosine"]["values"],
        after["matrices"]["prototype_cosine"]["values"],
    )
    # and the callback logged a scalar summary to the CSV logger
    header = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "similarity/test/prototype_cosine/mean_offdiag" in header


def test_per_class_subset_is_seeded_and_capped():
    labels = np.repeat(np.arange(3), [5, 10, 2])
    a = per_class_subset(labels, 4, seed=1)
    assert np.array_equal(a, per_class_subset(labels, 4, seed=1))
    assert np.bincount(labels[a]).tolist() == [4, 4, 2]
    assert np.all(np.diff(a) > 0)
    assert len(per_class_subset(labels, None, seed=0)) == len(labels)


def test_unknown_stage_is_a_clear_error():
    from semsim.callbacks import SimilarityMatrixCallback

    with pytest.raises(ValueError, match="stages"):
        SimilarityMatrixCallback(stages=["after_lunch"])


@pytest.mark.slow
def test_cifar10_experiment_fast_dev_run_writes_10x10(tmp_path: Path):
    from tests.helpers import write_class_folders

    root = write_class_folders(tmp_path / "cifar10", ["train", "test"], 10, 4)
    cfg = compose(
        "train",
        [
            "experiment=cifar10",
            "model.net.pretrained=false",
            f"data.root={root}",
            "data.download=false",
            "data.datamodule.num_workers=0",
            "data.datamodule.batch_size=8",
            "trainer.accelerator=cpu",
            "trainer.precision=32-true",
            "+trainer.fast_dev_run=true",
            "callbacks.similarity.batch_size=20",
            "callbacks.similarity.scores=[prototype_cosine,fd,kid,cmmd,precision,recall,density,coverage,c2st]",
        ],
        tmp_path / "run",
    )
    train(cfg)
    report = _load(tmp_path / "run" / "similarity" / "test" / "report.json")
    m = np.asarray(report["matrices"]["prototype_cosine"]["values"])
    assert m.shape == (10, 10)
    assert np.allclose(np.diag(m), 1.0, atol=1e-5)
    assert np.allclose(m, m.T, atol=1e-6)
    assert np.all(np.isfinite(m))


def test_trained_head_gives_the_concepts_of_the_content_score():
    """After training, the model's own linear head names the concepts (its classes); before
    training the head is untrained and gives none."""
    from types import SimpleNamespace

    import torch

    from semsim.callbacks.similarity import head_concepts

    head = torch.nn.Linear(6, 3)
    module = SimpleNamespace(net=SimpleNamespace(head=head))
    feats = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    w, b = head.weight.detach().double().numpy(), head.bias.detach().double().numpy()
    np.testing.assert_allclose(head_concepts(module, feats, "test"), feats @ w.T + b, rtol=1e-5)
    assert head_concepts(module, feats, "pretrained") is None
    assert head_concepts(SimpleNamespace(net=SimpleNamespace()), feats, "fit") is None


def test_both_headline_matrices_come_from_the_model_being_trained(tmp_path: Path):
    """The callback makes the content view of the test set as `semsim compare` does for one
    collection (the model's embedding of each image's luminance with its coarse hues at one
    level) and the rendering statistics, so the content and appearance matrices are reported
    from inside training (issue #21)."""
    from semsim.metrics.content import content_overlap

    overrides = [o for o in SMOKE_WITH_SIMILARITY if "scores=" not in o]
    cfg = compose("train", [*overrides, "callbacks.similarity.stages=[test]",
                            "callbacks.similarity.scores=[content_similarity,appearance]"],
                  tmp_path)  # fmt: skip
    _, objects = train(cfg)
    report = _load(tmp_path / "similarity" / "test" / "report.json")
    names = objects["datamodule"].class_names
    got = np.asarray(report["matrices"]["content_similarity"]["values"])
    app = np.asarray(report["matrices"]["appearance"]["values"])
    assert got.shape == app.shape == (len(names), len(names))
    assert np.all((app >= 0) & (app <= 1 + 1e-9))
    # independently (numpy / scipy, float64): BT.601 luma of the unnormalised input, plus its
    # chroma blurred by a mirrored Gaussian of 1/8 of the side, at RMS 0.1 (gain <= 4), each
    # pixel's chroma scaled towards its grey to stay in [0, 1]; normalised again
    import scipy.ndimage as ndi

    model, dm = objects["model"], objects["datamodule"]
    mean = torch.tensor(dm.data_config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(dm.data_config["std"]).view(1, 3, 1, 1)
    test_set = dm.test_set
    x = torch.stack([test_set[i][0] for i in range(len(test_set))]).double()
    rgb = (x * std + mean).clamp(0, 1).numpy()
    side = rgb.shape[-1]
    assert side <= 32  # (larger images are read on a 32-px grid first)
    luma = np.einsum("bchw,c->bhw", rgb, [0.299, 0.587, 0.114])
    chroma = ndi.gaussian_filter(rgb - luma[:, None], (0, 0, side / 8, side / 8), mode="mirror",
                                 truncate=3.0)  # fmt: skip
    level = np.sqrt((chroma**2).sum(1).mean((1, 2)))
    chroma *= np.minimum(0.1 / level, 4.0)[:, None, None, None]
    y = luma[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(chroma > 0, (1 - y) / chroma, np.where(chroma < 0, y / -chroma, np.inf))
    t = np.clip(room.min(1, keepdims=True), 0, 1)
    view = torch.from_numpy(y + t * chroma)
    gray = (view - mean) / std
    model.eval()
    with torch.no_grad():
        emb = model.embed(gray.float()).double().numpy()
    y = test_set.labels
    i, j = 0, len(names) - 1
    want = content_overlap(emb[y == i], emb[y == j])["content_similarity"]
    assert got[i, j] == pytest.approx(want, abs=0.02)
