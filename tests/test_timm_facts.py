"""The shipped timm facts (semsim/encoders/timm_facts.py) equal live timm's, give the same feature
provenance, and let a cached run name its features without importing timm."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from semsim.encoders import EncoderSpec, timm_facts

ROOT = Path(__file__).resolve().parents[1]


def test_table_is_for_the_installed_timm() -> None:
    """After a timm upgrade the table is ignored (correct but slower): regenerate it then."""
    assert timm_facts._table()["timm"] == timm_facts.timm_version(), (
        "regenerate with `python -m semsim.encoders.timm_facts`"
    )


@pytest.mark.parametrize("name", sorted(timm_facts._table().get("models", {})))
def test_shipped_facts_equal_live_timm(name: str) -> None:
    shipped = timm_facts.shipped(name)
    assert shipped is not None
    assert shipped == timm_facts.live(name)


def test_a_model_outside_the_table_asks_timm() -> None:
    """A new encoder yaml needs no table entry: its facts come from timm."""
    name = "resnet18"
    assert name not in timm_facts._table()["models"]
    assert timm_facts.shipped(name) is None
    assert EncoderSpec(name, pretrained=False).provenance()["preprocessing"]["input_size"] == [
        3,
        224,
        224,
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "tf_efficientnet_lite0", "crop_pct": 1.0},
        {"name": "tf_efficientnet_lite0", "image_size": 128, "pretrained": False},
        {"name": "swin_tiny_patch4_window7_224", "pretrained": False},
    ],
)
def test_provenance_is_the_same_with_and_without_the_table(kwargs, monkeypatch) -> None:  # noqa: ANN001
    spec = EncoderSpec(**kwargs)
    with_table = (spec.provenance(), spec.output_dims())
    monkeypatch.setattr(timm_facts, "shipped", lambda name: None)
    assert (spec.provenance(), spec.output_dims()) == with_table


def test_another_timm_version_asks_timm(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(timm_facts, "timm_version", lambda: "0.0.0")
    assert timm_facts.shipped("tf_efficientnet_lite0") is None
    spec = EncoderSpec("tf_efficientnet_lite0", crop_pct=1.0)
    assert spec.provenance()["preprocessing"]["crop_pct"] == 1.0  # from timm itself


def test_naming_cached_features_imports_no_timm(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from semsim.data.collection import ArrayCollection
        from semsim.encoders import EncoderSpec
        from semsim.features import feature_provenance
        coll = ArrayCollection(np.zeros((2, 8, 8, 3), np.uint8), None, None, "z")
        prov = feature_provenance(coll, EncoderSpec("tf_efficientnet_lite0", crop_pct=1.0))
        assert prov["cache_key"], prov
        heavy = [m for m in ("timm", "torchvision") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
