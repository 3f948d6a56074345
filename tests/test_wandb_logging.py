"""W&B logging of a report (#15.4), offline: matrices as tables, heatmaps and figures as
``wandb.Image``, and any gallery in ``report.sections`` (image paths/ids with scores) as a
``wandb.Table`` of images. The logger's run is replaced by a recorder, so nothing is uploaded."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

wandb = pytest.importorskip("wandb")


class _RecordingRun:
    def __init__(self) -> None:
        self.logged: list[dict] = []

    def log(self, data: dict, *args, **kwargs) -> None:
        self.logged.append(dict(data))


def _png(path: Path, level: int) -> Path:
    Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(path)
    return path


def _report(tmp_path: Path):
    from semsim.report import MatrixResult, Report, ScoreResult, write_report

    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    out = tmp_path / "report"
    out.mkdir()
    a0 = _png(tmp_path / "a0.png", 10)  # absolute path
    _png(out / "b3.png", 200)  # relative to the report folder
    report = Report(
        inputs={"a": {"n_images": 4}, "b": {"n_images": 4}},
        encoder={"key": "toy"},
        scores={"kid": ScoreResult(value=0.25, higher_is_more_similar=False)},
        matrices={
            "prototype_cosine": MatrixResult(
                values=np.array([[1.0, 0.5], [0.5, 1.0]]),
                row_labels=["cat", "dog"],
                higher_is_more_similar=True,
                meaning="cosine",
            )
        },
        sections={
            "evidence": {
                "b_least_like_a": {
                    "how": "farthest outside A's k-NN manifold",
                    "items": [
                        {"path": str(a0), "id": "a/0", "score": 0.9},
                        {"path": "b3.png", "id": "b/3", "score": 0.7},
                        {"thumbnail": uri, "id": "b/5", "score": 0.5},
                        {"path": "gone.png", "id": "b/9", "score": 0.1},
                    ],
                },
                "over_represented": [{"class": "cat", "share_a": 0.2, "share_b": 0.5}],
            },
            "pair_score": {"real_fake": {"n": 4, "mean": 0.3}, "histogram": "pair_score.png"},
        },
    )
    write_report(report, out)
    _png(out / "pair_score.png", 100)
    return report, out


def test_report_objects_reach_a_wandb_logger(tmp_path: Path, monkeypatch):
    from lightning.pytorch.loggers import WandbLogger

    from semsim.callbacks.loggers import log_report

    monkeypatch.setenv("WANDB_MODE", "offline")
    report, out = _report(tmp_path)
    logger = WandbLogger(project="semsim-test", save_dir=str(tmp_path), offline=True)
    run = _RecordingRun()
    logger._experiment = run  # the recorder stands in for wandb.init's run
    trainer = SimpleNamespace(loggers=[logger], global_step=7)

    log_report(trainer, report, out, prefix="realfake/test")

    logged: dict = {}
    for d in run.logged:
        assert d["trainer/global_step"] == 7
        logged.update(d)
    assert logged["realfake/test/kid"] == 0.25
    assert logged["realfake/test/prototype_cosine/mean_offdiag"] == 0.5

    table = logged["realfake/test/prototype_cosine"]
    assert isinstance(table, wandb.Table) and table.columns == ["row", "cat", "dog"]
    assert isinstance(logged["realfake/test/prototype_cosine_heatmap"], wandb.Image)
    assert isinstance(logged["realfake/test/pair_score/histogram"], wandb.Image)

    gallery = logged["realfake/test/evidence/b_least_like_a/items"]
    assert isinstance(gallery, wandb.Table)
    assert gallery.columns == ["image", "path", "id", "score", "thumbnail"]
    images = [row[0] for row in gallery.data]
    assert [isinstance(x, wandb.Image) for x in images] == [True, True, True, False]
    assert [row[2] for row in gallery.data] == ["a/0", "b/3", "b/5", "b/9"]
    assert [row[3] for row in gallery.data] == [0.9, 0.7, 0.5, 0.1]

    records = logged["realfake/test/evidence/over_represented"]
    assert isinstance(records, wandb.Table) and records.columns == ["class", "share_a", "share_b"]


def test_other_loggers_get_scalars_only(tmp_path: Path):
    from semsim.callbacks.loggers import log_report

    report, out = _report(tmp_path)
    seen: list[dict] = []
    other = SimpleNamespace(log_metrics=lambda m, step=None: seen.append(dict(m)))
    log_report(SimpleNamespace(loggers=[other], global_step=0), report, out, prefix="s")
    assert len(seen) == 1 and all(isinstance(v, float) for v in seen[0].values())


def test_evidence_galleries_become_image_tables(tmp_path: Path):
    """Real evidence (items by set/index without files, image pairs) drawn by a loader."""
    from semsim.callbacks.loggers import wandb_objects
    from semsim.evidence import build_evidence
    from semsim.report import Report

    rng = np.random.default_rng(0)

    def feats(shift: float) -> SimpleNamespace:
        x = (rng.normal(size=(30, 6)) + shift).astype(np.float32)
        return SimpleNamespace(features=x, labels=np.arange(30) % 2, class_names=["x", "y"])

    calls: list[tuple[str, int]] = []

    def images(which: str, index: int) -> Image.Image:
        calls.append((which, index))
        return Image.fromarray(np.full((4, 4, 3), index, np.uint8))

    report = Report(inputs={}, encoder={})
    report.sections["evidence"] = build_evidence(feats(0.0), feats(0.7), seed=0)
    objs = wandb_objects(report, tmp_path, "p", images)

    first = report.sections["evidence"]["galleries"][0]
    table = objs[f"p/evidence/galleries/{first['key']}/items"]
    assert isinstance(table, wandb.Table) and table.columns[0] == "image"
    assert len(table.data) == len(first["items"])
    assert all(isinstance(row[0], wandb.Image) for row in table.data)
    scores = [row[table.columns.index("score")] for row in table.data]
    assert scores == [item["score"] for item in first["items"]]
    pairs = [k for k in objs if k.startswith("p/evidence/class_pairs/") and k.endswith("/pairs")]
    assert pairs, sorted(objs)
    pair_table = objs[pairs[0]]
    assert pair_table.columns[:2] == ["a", "b"]
    assert all(isinstance(x, wandb.Image) for row in pair_table.data for x in row[:2])
    assert {w for w, _ in calls} == {"a", "b"}
