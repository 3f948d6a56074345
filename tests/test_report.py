"""The report writer: report.json shape, CSV values, PNG heatmaps, report.md links, headline."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from semsim.metrics import indistinguishability, indistinguishability_interval
from semsim.report import (
    Headline,
    MatrixResult,
    Report,
    ScoreResult,
    extreme_pairs,
    load_report,
    print_summary,
    render_markdown,
    validate_report_dict,
    write_report,
)

CLASSES = ["cat", "dog", "ship"]


def _report(with_headline: bool = True) -> Report:
    square = np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.3], [0.2, 0.3, 1.0]])
    cross = np.array([[0.5, np.nan], [12.0, 0.25], [3.0, 4.0]])
    return Report(
        inputs={
            "a": {"name": "A", "n_images": 30, "classes": {c: 10 for c in CLASSES}},
            "b": {"name": "B", "n_images": 20},
        },  # fmt: skip
        encoder={"key": "tiny", "name": "resnet10t", "pretrained": False},
        scores={
            "prototype_cosine": ScoreResult(
                0.97, (0.95, 0.99), 0.99, True, "cosine of means", family="content"
            ),
            "fd_tiny": ScoreResult(12.5, (10.0, 15.0), 3.0, False, "Frechet distance"),
            "kid": ScoreResult.skip("needs at least 50 images per side, got 20", False),
            "c2st": ScoreResult(
                0.7, (0.6, 0.8), None, False, extra={"p_value": 0.001}, family="rendering"
            ),
        },
        matrices={
            "prototype_cosine": MatrixResult(square, CLASSES, meaning="cosine of class means"),
            "fd_tiny": MatrixResult(
                cross, CLASSES, ["x", "y"], higher_is_more_similar=False, row_title="A"
            ),
        },
        # round 2: analysis builds the headline from the registry; the writer only prints it
        similarity=Headline(0.6, (0.4, 0.8), "indistinguishability", "1 - |2 acc - 1|", "alike")
        if with_headline
        else None,
        method={
            "summary": "Frozen encoder.",
            "references": [
                {
                    "name": "C2ST",
                    "title": "Revisiting C2ST",
                    "url": "https://arxiv.org/abs/1610.06545",
                }
            ],
        },  # fmt: skip
        meta={"seed": 0},
    )


def test_write_report_files_and_json_shape(tmp_path: Path) -> None:
    files = write_report(_report(), tmp_path / "out")
    out = tmp_path / "out"
    expected = {"report.json", "report.md"}
    expected |= {f"{m}.{ext}" for m in ("prototype_cosine", "fd_tiny") for ext in ("csv", "png")}
    assert set(files) == expected
    assert all(p.is_file() and p.parent == out for p in files.values())

    d = json.loads((out / "report.json").read_text())
    validate_report_dict(d)
    assert d["scores"]["prototype_cosine"]["ci"] == [0.95, 0.99]
    assert d["scores"]["fd_tiny"]["higher_is_more_similar"] is False
    assert d["scores"]["kid"]["value"] is None
    assert d["scores"]["kid"]["skipped"].startswith("needs at least 50")
    assert d["scores"]["c2st"]["p_value"] == 0.001  # extras are flattened into the entry
    assert d["matrices"]["prototype_cosine"]["labels"] == CLASSES
    assert "labels" not in d["matrices"]["fd_tiny"]
    assert d["matrices"]["fd_tiny"]["row_labels"] == CLASSES
    assert d["matrices"]["fd_tiny"]["col_labels"] == ["x", "y"]
    assert d["matrices"]["fd_tiny"]["values"][0] == [0.5, None]  # NaN -> null, strict JSON
    assert d["similarity"]["value"] == pytest.approx(0.6)


def test_csv_holds_the_matrix(tmp_path: Path) -> None:
    rep = _report()
    write_report(rep, tmp_path)
    with open(tmp_path / "fd_tiny.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][1:] == ["x", "y"]
    assert [r[0] for r in rows[1:]] == CLASSES
    got = np.array([[float(v) if v else np.nan for v in r[1:]] for r in rows[1:]])
    np.testing.assert_array_equal(got, rep.matrices["fd_tiny"].values)


def test_png_heatmaps_are_images(tmp_path: Path) -> None:
    write_report(_report(), tmp_path)
    for name in ("prototype_cosine", "fd_tiny"):
        with Image.open(tmp_path / f"{name}.png") as im:
            assert im.format == "PNG"
            assert im.width > 300 and im.height > 300
            # not a blank canvas: a heatmap has many colours
            pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
            assert len(np.unique(pixels, axis=0)) > 50


def _grid_box(px: np.ndarray) -> tuple[int, int, int, int]:
    """The heatmap grid's inner box (left, top, right, bottom, exclusive) found from its black
    frame: the first two columns and the two rows that are mostly pure black."""
    black = (px == 0).all(axis=2)
    cols = np.flatnonzero(black.sum(axis=0) > 0.5 * px.shape[0])
    rows = np.flatnonzero(black.sum(axis=1) > 0.5 * px.shape[1])
    assert len(cols) >= 4 and len(rows) == 2, (cols, rows)  # grid and colour bar; grid only
    return int(cols[0]) + 1, int(rows[0]) + 1, int(cols[1]), int(rows[1])


@pytest.mark.parametrize("cross", [True, False])
@pytest.mark.parametrize("higher", [True, False])
def test_heatmap_cells_have_their_colour_map_colour(
    tmp_path: Path, cross: bool, higher: bool
) -> None:
    """Each cell is painted the colour map's colour of its value (viridis, reversed when lower
    = more similar; limits = the finite range), a within-collection diagonal is grey and left
    out of the limits, and every number is drawn in the contrasting colour."""
    from matplotlib import colormaps

    from semsim.report.plots import save_heatmap

    rng = np.random.default_rng(3)
    names = [f"class {k}" for k in range(10)]
    values = rng.uniform(0.1, 0.9, (10, 10))
    np.fill_diagonal(values, 1.0)  # identity on the diagonal: out of the colour limits within A
    values[2, 7] = np.nan
    m = MatrixResult(
        values, names, [f"b{k}" for k in range(10)] if cross else None,
        higher_is_more_similar=higher, meaning="m", row_title="A", col_title="B",
    )  # fmt: skip
    save_heatmap("score", m, tmp_path / "h.png")
    with Image.open(tmp_path / "h.png") as im:
        assert 900 <= im.width <= 1300 and 800 <= im.height <= 1200  # 9.5 x 8.5 in at 110 dpi
        px = np.asarray(im.convert("RGB")).astype(int)
    left, top, right, bottom = _grid_box(px)
    w, h = (right - left) / 10, (bottom - top) / 10
    assert 50 < w < 100 and 50 < h < 100
    hidden = ~np.isfinite(values)
    if not cross:
        hidden |= np.eye(10, dtype=bool)
    lo, hi = values[~hidden].min(), values[~hidden].max()
    cmap = colormaps["viridis" if higher else "viridis_r"]
    for i in range(10):
        for j in range(10):
            # near the cell's top left corner, away from its centred number
            got = px[int(top + (i + 0.15) * h), int(left + (j + 0.15) * w)]
            t = (values[i, j] - lo) / (hi - lo)
            want = [217] * 3 if hidden[i, j] else np.round(np.array(cmap(t)[:3]) * 255)
            assert np.abs(got - want).max() <= 1, (i, j, got, want)
            # the number: dark on a bright (or grey) cell, white on a dark one
            centre = px[int(top + (i + 0.4) * h) : int(top + (i + 0.6) * h),
                        int(left + (j + 0.3) * w) : int(left + (j + 0.7) * w)].mean(axis=2)  # fmt: skip
            bright = hidden[i, j] or (t if higher else 1 - t) > 0.6
            assert (centre.min() < 60) if bright else (centre.max() > 200), (i, j)


def test_large_heatmap_has_no_numbers(tmp_path: Path) -> None:
    """Over 30 rows the cells carry no numbers: a cell's centre is its plain colour."""
    from semsim.report.plots import save_heatmap

    values = np.tile(np.linspace(0.0, 1.0, 31), (31, 1))
    m = MatrixResult(values, [f"c{k}" for k in range(31)], [f"d{k}" for k in range(31)])
    save_heatmap("big", m, tmp_path / "big.png")
    with Image.open(tmp_path / "big.png") as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    left, top, right, bottom = _grid_box(px)
    w, h = (right - left) / 31, (bottom - top) / 31
    for i, j in [(0, 0), (15, 15), (30, 30)]:
        box = px[int(top + (i + 0.2) * h) : int(top + (i + 0.8) * h),
                 int(left + (j + 0.2) * w) : int(left + (j + 0.8) * w)]  # fmt: skip
        assert (box == box[0, 0]).all(), (i, j)


def test_markdown_links_resolve_and_mention_everything(tmp_path: Path) -> None:
    write_report(_report(), tmp_path)
    md = (tmp_path / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == ["fd_tiny.png", "prototype_cosine.png"]
    for link in links:
        assert not Path(link).is_absolute() and (tmp_path / link).is_file()
    assert "Content similarity: **0.600**" in md
    assert "skipped: needs at least 50" in md
    assert "https://arxiv.org/abs/1610.06545" in md
    for score in ("prototype_cosine", "fd_tiny", "kid", "c2st"):
        assert f"`{score}`" in md


def test_round_trip(tmp_path: Path) -> None:
    rep = _report()
    write_report(rep, tmp_path)
    back = load_report(tmp_path)
    assert back.scores["fd_tiny"].ci == (10.0, 15.0)
    assert back.scores["kid"].skipped is not None
    np.testing.assert_array_equal(back.matrices["fd_tiny"].values, rep.matrices["fd_tiny"].values)
    assert back.matrices["fd_tiny"].col_labels == ["x", "y"]
    assert back.similarity is not None and back.similarity.value == pytest.approx(0.6)


def test_single_collection_report_has_null_headline(tmp_path: Path) -> None:
    rep = _report(with_headline=False)
    rep.scores = {}
    write_report(rep, tmp_path)
    d = json.loads((tmp_path / "report.json").read_text())
    validate_report_dict(d)
    assert d["similarity"] is None and d["scores"] == {}


# The formula moved from report/headline.py to metrics (report computes nothing) and is now the
# symmetric 1 - |2 acc - 1| (issue #13: below-chance accuracy no longer collapses to 1).
@pytest.mark.parametrize(
    ("acc", "expected"), [(0.5, 1.0), (0.4, 0.8), (0.75, 0.5), (0.85, 0.3), (1.0, 0.0)]
)
def test_indistinguishability_formula(acc: float, expected: float) -> None:
    assert indistinguishability(acc) == pytest.approx(expected)


def test_indistinguishability_interval_is_mapped_and_ordered() -> None:
    assert indistinguishability_interval((0.6, 0.8)) == pytest.approx((0.4, 0.8))  # endpoints swap
    assert indistinguishability_interval((0.45, 0.7)) == pytest.approx((0.6, 1.0))  # holds 0.5
    assert indistinguishability_interval((0.269, 0.49)) == pytest.approx((0.538, 0.98))
    arr = indistinguishability(np.array([[0.5, 1.0], [np.nan, 0.9]]))
    np.testing.assert_allclose(arr, [[1.0, 0.0], [np.nan, 0.2]])


def test_markdown_escapes_class_names_and_groups_families(tmp_path: Path) -> None:
    rep = _report()
    evil = ["a|b", "two\nlines", "<script>x</script>"]
    rep.matrices = {"prototype_cosine": MatrixResult(np.eye(3) + 0.1, evil)}
    rep.inputs["a"]["classes"] = {c: 1 for c in evil}
    md = render_markdown(rep, {})
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "a\\|b" in md and "a|b" not in md.replace("a\\|b", "")
    assert "two\nlines" not in md and "two lines" in md
    content = md.index("### Content")
    rendering = md.index("### Rendering")
    other = md.index("### Other")
    assert content < md.index("`prototype_cosine`") < rendering < md.index("`c2st`") < other
    assert md.index("`fd_tiny`") > other  # no family given


def test_extreme_pairs() -> None:
    rep = _report()
    most, least = extreme_pairs(rep.matrices["prototype_cosine"], k=2)
    # symmetric, one collection: diagonal dropped, each unordered pair once
    assert most == [("cat", "dog", 0.9), ("dog", "ship", 0.3)]
    assert least == [("cat", "ship", 0.2), ("dog", "ship", 0.3)]
    most, least = extreme_pairs(rep.matrices["fd_tiny"], k=1)  # lower = more similar, NaN skipped
    assert most == [("dog", "y", 0.25)] and least == [("dog", "x", 12.0)]


def test_matrix_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="shape"):
        MatrixResult(np.zeros((2, 3)), ["a", "b", "c"])


def test_validate_rejects_bad_shapes() -> None:
    d = _report().to_dict()
    d["matrices"]["prototype_cosine"]["values"][0].pop()
    with pytest.raises(ValueError, match="row length"):
        validate_report_dict(d)
    d = _report().to_dict()
    del d["scores"]["kid"]["skipped"]
    with pytest.raises(ValueError, match="skipped"):
        validate_report_dict(d)


def test_print_summary_mentions_scores() -> None:
    console = Console(record=True, width=140)
    print_summary(_report(), console=console)
    text = console.export_text()
    assert "content similarity = 0.600" in text
    assert "fd_tiny" in text and "skipped" in text
    assert "cat / dog" in text  # most similar pair of the prototype_cosine matrix
