"""report.html: self-contained, escaped, galleries complete; rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from semsim.data.collection import ArrayCollection
from semsim.evidence import build_evidence, find_cross_duplicates, thumbnail_loader
from semsim.report import Headline, MatrixResult, Report, ScoreResult, load_report, write_report
from semsim.report.html import render_html, write_html
from semsim.report.html_evidence import PLACEHOLDER

NAMES = ["cat", "dog", "<script>alert(1)</script>"]


def _report(
    n_a: int = 60, n_b: int = 45, size: int = 32
) -> tuple[Report, ArrayCollection, ArrayCollection]:
    rng = np.random.default_rng(0)
    la, lb = np.arange(n_a) % 3, np.arange(n_b) % 3
    pix_a = rng.integers(0, 256, (n_a, size, size, 3), dtype=np.uint8)
    pix_b = rng.integers(0, 256, (n_b, size, size, 3), dtype=np.uint8)
    coll_a = ArrayCollection(pix_a, la, NAMES, name="A")
    coll_b = ArrayCollection(pix_b, lb, NAMES, name="B")
    centers = rng.normal(size=(3, 16)) * 2
    fa = centers[la] + rng.normal(size=(n_a, 16))
    fb = centers[lb] + rng.normal(size=(n_b, 16))
    fb[5] = fa[7]
    ev = build_evidence(
        SimpleNamespace(features=fa, labels=la, class_names=NAMES),
        SimpleNamespace(features=fb, labels=lb, class_names=NAMES),
        n_show=8,
    )
    scores = {
        "similarity_content": ScoreResult(0.8, (0.7, 0.9), extra={"family": "content"}),
        "fd_effnet_lite0": ScoreResult(
            12.0,
            (10.0, 14.0),
            3.0,
            False,
            "Fréchet <distance>",
            "https://arxiv.org/abs/1706.08500",
            extra={"family": "rendering"},
        ),  # fmt: skip
        "cmmd": ScoreResult.skip("saturated kernel", False),
    }
    m = rng.uniform(size=(3, 3))
    report = Report(
        inputs={"a": coll_a.describe(), "b": coll_b.describe()},
        encoder={"key": "effnet_lite0"},
        scores=scores,
        matrices={"similarity": MatrixResult(m, NAMES, NAMES, True, "per cell", "A", "B")},
        similarity=Headline(0.8, (0.7, 0.9), "c2st", "1 - |2 acc - 1|", "about 80% overlap"),
        title="semsim: <A> vs B",
        sections={
            "evidence": ev,
            "duplicates": find_cross_duplicates(fa, fb),
        },
    )
    report.sections["duplicates"]["scores_without_duplicates"] = {
        "fd_effnet_lite0": {"value": 13.25}
    }
    return report, coll_a, coll_b


class _Imgs(HTMLParser):
    """Counts <img> per gallery (data-key) and collects srcs, scripts and links."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.counts: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.srcs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("section", "details", "div", "table", "tr", "td", "figure", "span"):
            key = a.get("data-key")
            if key is not None:
                self.expected[key] = int(a["data-n"])
                self.counts.setdefault(key, 0)
            self.stack.append(key)
        if tag == "img":
            self.srcs.append(a["src"])
            for key in self.stack:
                if key is not None:
                    self.counts[key] += 1
        if tag in ("script", "link", "iframe") and (a.get("src") or a.get("href")):
            self.external.append(str(a))

    def handle_endtag(self, tag):
        if tag in ("section", "details", "div", "table", "tr", "td", "figure", "span"):
            self.stack.pop()


def _expected_counts(ev: dict, dups: dict) -> dict[str, int]:
    out = {g["key"]: len(g["items"]) for g in ev["galleries"]}
    out["typical"] = sum(len(r["a"]) + len(r["b"]) for r in ev["typical"]["classes"])
    for r in ev["representation"]:
        out[f"representation-{r['by']}"] = sum(len(x["examples"]) for x in r["rows"])
    for block in ev["class_pairs"]:
        out[f"pairs-{block['kind']}"] = 2 * sum(len(c["pairs"]) for c in block["cells"])
    out["duplicates"] = 2 * len(dups["examples"])
    return out


def test_html_is_self_contained_escaped_and_complete(tmp_path):
    report, coll_a, coll_b = _report()
    path = write_html(report, tmp_path, thumbnail_loader(coll_a, coll_b))
    text = path.read_text(encoding="utf-8")
    p = _Imgs()
    p.feed(text)
    assert p.external == []
    assert all(s.startswith("data:image/") for s in p.srcs)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)" in text
    assert "semsim: &lt;A&gt; vs B" in text
    ev, dups = report.sections["evidence"], report.sections["duplicates"]
    expected = _expected_counts(ev, dups)
    assert p.expected == expected and p.counts == expected
    assert expected["b_outside_a"] == 8 and expected["duplicates"] >= 2
    assert PLACEHOLDER not in p.srcs
    # thumbnails are JPEGs of at most 64 px (32 px images are kept at 32 px)
    im = Image.open(io.BytesIO(base64.b64decode(p.srcs[0].split(",", 1)[1])))
    assert im.format == "JPEG" and max(im.size) == 32
    # scores grouped by family, skipped scores say why, heatmap cells carry hover values
    assert text.index(">content<") < text.index(">rendering<")
    assert "skipped: saturated kernel" in text
    assert "without duplicates" in text and ">13.25<" in text
    v = report.matrices["similarity"].values[0, 1]
    assert f'title="cat / dog: {v:.3f}"' in text
    assert 'href="#pairs-a_vs_b-1"' in text and 'id="pairs-a_vs_b-1"' in text


def test_thumbnails_are_capped_and_pages_rebuild_from_report_json(tmp_path):
    report, coll_a, coll_b = _report(size=200)
    html_big = render_html(report, thumbnail_loader(coll_a, coll_b), thumb_px=64)
    p = _Imgs()
    p.feed(html_big)
    sizes = {Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).size for s in p.srcs[:20]}
    assert all(max(s) == 64 for s in sizes)
    # written with the other report files; loaded back without images -> placeholders, same
    # galleries (the evidence lives in report.json)
    write_report(report, tmp_path)
    loaded = load_report(tmp_path)
    assert json.dumps(loaded.sections["evidence"]) == json.dumps(
        json.loads(json.dumps(report.to_dict()))["sections"]["evidence"]
    )
    text = render_html(loaded)
    q = _Imgs()
    q.feed(text)
    assert q.counts == p.counts and set(q.srcs) == {PLACEHOLDER}
    assert "images could not be loaded" in text


def test_paths_recorded_in_the_evidence_are_used_without_a_loader(tmp_path):
    paths = []
    for i in range(12):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((40, 40, 3), i * 20, np.uint8)).save(paths[-1])
    rng = np.random.default_rng(0)
    fa, fb = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
    ev = build_evidence(
        SimpleNamespace(features=fa), SimpleNamespace(features=fb), paths_a=paths, paths_b=paths
    )
    report = Report(inputs={}, encoder={}, sections={"evidence": ev})
    text = render_html(report)
    p = _Imgs()
    p.feed(text)
    assert p.srcs and PLACEHOLDER not in p.srcs


def test_one_collection_report_without_evidence_renders(tmp_path):
    m = MatrixResult(np.eye(3), NAMES)
    text = write_html(Report(inputs={}, encoder={}, matrices={"kid": m}), tmp_path).read_text()
    assert '<table class="heat"' in text and "Evidence" not in text


# --- real browser --------------------------------------------------------------------------

CHROMIUM = os.environ.get("SEMSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "browser test: the Python package 'playwright' is not installed (pip install -e '.[dev]')"
        )
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"browser test: no Chromium at {CHROMIUM} (apt-get install chromium, or set SEMSIM_CHROMIUM)"
        )
    return sync_playwright


def test_report_html_renders_in_headless_chromium(tmp_path):
    sync_playwright = _browser_or_skip()
    report, coll_a, coll_b = _report()
    path = write_html(report, tmp_path, thumbnail_loader(coll_a, coll_b))
    expected = _expected_counts(report.sections["evidence"], report.sections["duplicates"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            for key, n in expected.items():
                assert page.locator(f'[data-key="{key}"] img').count() == n, key
            # every image decoded (lazy ones included once scrolled into view)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
            page.wait_for_function("[...document.images].every(i => i.complete)")
            broken = page.evaluate("[...document.images].filter(i => i.naturalWidth === 0).length")
            assert broken == 0
            # a heatmap cell links to its image pairs and opens their collapsed section
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = false)")
            page.locator('table.heat a[href="#pairs-a_vs_b-1"]').click()
            assert page.locator('details[data-key="pairs-a_vs_b"]').evaluate("d => d.open")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert errors == []
            assert all(u.startswith(("file:", "data:")) for u in requests), requests
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
