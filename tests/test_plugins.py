"""A new source or encoder is one file, with nothing else to edit: the test writes each file where
it belongs (``semsim/data/sources/<name>.py``, ``conf/encoder/<key>.yaml``) and sees it in
``--help``, in the overrides checker, in a compare and in training; the docs tables are what
:mod:`semsim.catalog` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from semsim.cli import main
from semsim.overrides import check_overrides
from semsim.utils import UsageError
from tests.conftest import CONF_DIR, ROOT

SOURCE = "plugin_toy"
ENCODER = "plugin_tiny"
SOURCE_FILE = ROOT / "semsim" / "data" / "sources" / f"{SOURCE}.py"
ENCODER_FILE = CONF_DIR / "encoder" / f"{ENCODER}.yaml"

SOURCE_CODE = '''"""A plug-in source written by tests/test_plugins.py (removed after the test)."""

import numpy as np

from semsim.data.collection import ArrayCollection
from semsim.data.sources.registry import register_source


@register_source("plugin_toy", training={"datamodule": {"num_workers": 0}})
def plugin_toy(
    root=None, split="test", classes=None, max_per_class=None, seed=0, on_bad_image="error",
    n_per_class: int = 12,
):
    """Two classes of flat colours plus noise, drawn in memory. Nothing is read."""
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    base = np.repeat(np.array([[40, 90, 200], [220, 120, 30]], dtype=np.int64), n_per_class, 0)
    noise = rng.integers(-30, 30, (len(base), 32, 32, 3))
    pixels = np.clip(base[:, None, None, :] + noise, 0, 255).astype(np.uint8)
    labels = np.repeat(np.arange(2), n_per_class)
    return ArrayCollection(pixels, labels, ["blue", "orange"], name=f"plugin_toy/{split}")
'''

ENCODER_YAML = """# A plug-in encoder written by tests/test_plugins.py: timm's tiny test_resnet, random weights.
_target_: semsim.encoders.EncoderSpec
name: test_resnet
pretrained: false
checkpoint: null
image_size: 32
key: plugin_tiny
"""


@pytest.fixture
def plugin_files() -> Iterator[None]:
    """Write the two files (and nothing else), then remove them and what they registered."""
    assert not SOURCE_FILE.exists() and not ENCODER_FILE.exists()
    SOURCE_FILE.write_text(SOURCE_CODE)
    ENCODER_FILE.write_text(ENCODER_YAML)
    try:
        yield
    finally:
        SOURCE_FILE.unlink(missing_ok=True)
        ENCODER_FILE.unlink(missing_ok=True)
        from semsim.data.sources.registry import unregister_source

        unregister_source(SOURCE)
        sys.modules.pop(f"semsim.data.sources.{SOURCE}", None)


def test_a_new_source_and_encoder_file_reach_help_and_the_checker(
    plugin_files: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["compare", "--help"])
    out = capsys.readouterr().out
    assert f"  {SOURCE} " in out and "Two classes of flat colours plus noise" in out
    assert f"  {ENCODER} " in out and "A plug-in encoder written by" in out
    main(["train", "--help"])
    data_block = capsys.readouterr().out.split("data=")[1].split("\n\n")[0]
    assert f"  {SOURCE} " in data_block

    cfg = check_overrides("compare", [f"a={SOURCE}", "a.n_per_class=3", f"encoder={ENCODER}"])
    assert cfg.a.n_per_class == 3 and cfg.encoder.name == "test_resnet"
    with pytest.raises(UsageError, match="did you mean `a.n_per_class`"):
        check_overrides("compare", [f"a={SOURCE}", "a.n_per_clas=3"])
    cfg = check_overrides("train", [f"data={SOURCE}", "data.n_per_class=5"])
    assert cfg.data.n_per_class == 5 and cfg.data.datamodule.num_workers == 0
    with pytest.raises(UsageError, match=f"did you mean `{SOURCE}`"):
        check_overrides("train", ["data=plugin_tyo"])

    from semsim import catalog

    assert SOURCE in catalog.sources() and ENCODER in catalog.encoders()
    assert f"| `{ENCODER}` | `test_resnet` |" in catalog.table("encoders")


def _semsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEMSIM_CACHE_DIR": str(cwd / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "semsim.cli", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.mark.slow
def test_a_new_source_and_encoder_file_run_in_compare_and_training(
    plugin_files: None, tmp_path: Path
) -> None:
    _semsim(
        "compare", f"a={SOURCE}", f"b={SOURCE}", "b.seed=1", f"encoder={ENCODER}",
        "out_dir=out", "num_workers=0", "n_bootstrap=5", "scores=[prototype_cosine,fd]",
        cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["inputs"]["a"]["source"]["kind"] == SOURCE
    assert f"fd_{ENCODER}" in report["scores"]

    _semsim(
        "train", "experiment=smoke", f"data={SOURCE}", "trainer.max_epochs=1", "callbacks=none",
        cwd=tmp_path,
    )  # fmt: skip
    saved = next((tmp_path / "logs").rglob(".hydra/hydra.yaml")).read_text()
    assert f"data: {SOURCE}" in saved  # the runtime choice of the data group


def test_the_docs_tables_are_what_the_catalog_writes() -> None:
    from semsim import catalog
    from semsim.data.sources.registry import SOURCES

    page = (ROOT / "docs" / "plugins.md").read_text()
    assert catalog.render_page(page) == page, (
        "run: python -m semsim.catalog --write docs/plugins.md"
    )
    for kind in catalog.KINDS:
        assert f"<!-- catalog:{kind} -->" in page
    from semsim.metrics import SCORES

    names = {*SOURCES, *SCORES, *catalog.group_choices("encoder")}
    assert all(f"| `{name}` |" in page for name in names)
