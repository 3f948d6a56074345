"""Issue #25 item 5: outputs safe to open (CSV cells, report.html with hostile inputs)."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

import semsim.data.sources  # noqa: F401  (registers the a=/b= config aliases)
from semsim.compare import compare
from semsim.report import MatrixResult, Report
from semsim.report.html import render_html
from semsim.report.writer import csv_text, write_matrix_csv

ROOT = Path(__file__).resolve().parents[1]
FORMULAS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"]
PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "javascript:alert(3)"]


@pytest.mark.parametrize("name", FORMULAS)
def test_formula_cells_are_neutralised(tmp_path: Path, name: str) -> None:
    m = MatrixResult(
        values=np.array([[0.5, -0.25]]), row_labels=[name], col_labels=[name, "plain"],
        row_title="=A", col_title="B",
    )  # fmt: skip
    path = write_matrix_csv(m, tmp_path / "m.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    # every text cell starts with none of = + - @ tab CR; numbers stay numbers
    for cell in [*rows[0], rows[1][0]]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[0][1] == "'" + name and rows[1][0] == "'" + name and rows[0][2] == "plain"
    assert rows[0][0] == "'=A \\ B"
    assert [float(x) for x in rows[1][1:]] == [0.5, -0.25]  # a negative number is not text


def test_csv_text_leaves_ordinary_names_alone() -> None:
    assert [csv_text(x) for x in ["cat", "a=b", "1e-3", ""]] == ["cat", "a=b", "1e-3", ""]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.handlers: list[str] = []
        self.js_urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.scripts += tag == "script"
        for k, v in attrs:
            if k.lower().startswith("on"):
                self.handlers.append(f"{tag} {k}")
            if k.lower() in ("href", "src") and (v or "").strip().lower().startswith("javascript:"):
                self.js_urls.append(v or "")


def _hostile(x: Any, payload: str) -> Any:
    """``x`` with ``payload`` appended to every string, dict keys included."""
    if isinstance(x, str):
        return x + payload
    if isinstance(x, dict):
        return {_hostile(k, payload): _hostile(v, payload) for k, v in x.items()}
    if isinstance(x, list):
        return [_hostile(v, payload) for v in x]
    return x


def _parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A real compare whose folder, class and file names carry HTML."""
    tmp = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    roots = []
    for side, classes in (("A <b>x", ["<svg onload=alert(1)>", "=1+2"]),
                          ('B "><img src=x onerror=alert(2)>', ["cat", "<i>dog"])):  # fmt: skip
        root = tmp / side
        for c in classes:
            (root / c).mkdir(parents=True)
            for i in range(6):
                px = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(px).save(root / c / f"<x{i}>.png")
        roots.append(root)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("compare", overrides=[
            "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null",
            "progress=false", "num_workers=0", "n_bootstrap=4", "matrix_scores=[prototype_cosine]",
            "a=folder", f"a.root='{roots[0]}'", "b=folder", f"b.root='{roots[1]}'",
            f"out_dir={tmp / 'out'}", f"cache_dir={tmp / 'cache'}",
        ])  # fmt: skip
    report = compare(cfg)
    assert report is not None
    return report


def test_hostile_names_in_a_real_run_stay_text(hostile_run: Report) -> None:
    text = render_html(hostile_run, None)
    p = _parse(text)
    benign = _parse(render_html(Report(inputs={}, encoder={}), None))
    assert p.scripts == benign.scripts and p.handlers == [] and p.js_urls == []
    assert "<svg" not in text and "<img src=x" not in text and "<i>dog" not in text
    assert "&lt;svg onload=alert(1)&gt;" in text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_in_every_field_of_report_html(hostile_run: Report, payload: str) -> None:
    data = _hostile(json.loads(json.dumps(hostile_run.to_dict())), payload)
    data["schema_version"] = hostile_run.to_dict()["schema_version"]
    text = render_html(Report.from_dict(data), None)
    p = _parse(text)
    benign = _parse(render_html(Report(inputs={}, encoder={}), None))
    assert p.scripts == benign.scripts, "a <script> element came from the inputs"
    assert p.handlers == [] and p.js_urls == []
    assert payload not in text or payload == "javascript:alert(3)"  # plain text is harmless
    assert set(p.tags) <= set(_parse(render_html(hostile_run, None)).tags) | set(benign.tags)
