"""The Python call: semsim.compare / semsim.embed run the CLI's pipeline (same report as the
command on the same pixels), accept images as people hold them, and fail like the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from PIL import Image

import semsim
from semsim.data.memory import ImageListCollection, to_collection
from tests.conftest import ROOT

FAST = {
    "encoder_options": {"pretrained": False, "image_size": 32, "crop_pct": None},
    "progress": False,
    "num_workers": 0,
}
SCORES = ["content_similarity", "appearance", "concept_similarity", "prototype_cosine", "fd", "kid"]


def _images(seed: int, shift: int) -> tuple[np.ndarray, list[str]]:
    """16 images 16x16: 8 'cat' (reddish) and 8 'dog' (bluish), B's shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 120, (16, 16, 16, 3)).astype(np.int64)
    x[:8, ..., 0] += 100 + shift
    x[8:, ..., 2] += 100 - shift
    return np.clip(x, 0, 255).astype(np.uint8), ["cat"] * 8 + ["dog"] * 8


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One Python call on (image, label) lists, kept for the tests below."""
    tmp = tmp_path_factory.mktemp("api")
    xa, la = _images(0, 0)
    xb, lb = _images(1, 40)
    report = semsim.compare(
        list(zip(xa, la, strict=True)),
        list(zip(xb, lb, strict=True)),
        scores=SCORES,
        n_bootstrap=0,
        noise_floor=False,
        cache_dir=tmp / "cache",
        **FAST,
    )
    return {"report": report, "tmp": tmp, "xa": xa, "xb": xb, "la": la, "lb": lb}


def test_same_report_as_the_command_on_the_same_pixels(run: dict) -> None:
    """The command's compare(cfg) on the same pixels in .npz files (the `arrays` source) gives
    the same scores and matrices as the Python call on in-memory lists."""
    from semsim.compare import compare
    from semsim.overrides import check_overrides

    tmp = run["tmp"]
    names = np.array(["cat", "dog"])
    for side in "ab":
        labels = np.array([0] * 8 + [1] * 8)
        np.savez(tmp / f"{side}.npz", images=run[f"x{side}"], labels=labels, class_names=names)
    cfg = check_overrides(
        "compare",
        [
            "a=arrays", f"a.root={tmp / 'a.npz'}", "b=arrays", f"b.root={tmp / 'b.npz'}",
            "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null",
            "progress=false", "num_workers=0", f"scores=[{','.join(SCORES)}]", "n_bootstrap=0",
            "noise_floor=false", f"cache_dir={tmp / 'cache'}", f"out_dir={tmp / 'cli'}",
        ],
    )  # fmt: skip
    cli = compare(cfg)
    py = run["report"]
    assert cli is not None and py.similarity is not None and cli.similarity is not None
    assert py.similarity.value == cli.similarity.value
    assert {k: v.value for k, v in py.scores.items()} == {k: v.value for k, v in cli.scores.items()}
    assert set(py.matrices) == set(cli.matrices) and py.matrices
    for name, m in py.matrices.items():
        np.testing.assert_array_equal(m.values, cli.matrices[name].values)
        assert m.row_labels == cli.matrices[name].row_labels == ["cat", "dog"]
    assert py.inputs["a"]["fingerprint"] == cli.inputs["a"]["fingerprint"]  # cache shared


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # rank-deficient at n < D
def test_scores_match_numpy_on_the_embedded_features(run: dict) -> None:
    """semsim.embed gives the features the call used (from the same cache): the prototype cosine
    and the Fréchet distance recomputed with numpy/scipy equal the report's."""
    opts = {**FAST, "cache_dir": run["tmp"] / "cache"}
    fa = semsim.embed(list(zip(run["xa"], run["la"], strict=True)), **opts)
    fb = semsim.embed(list(zip(run["xb"], run["lb"], strict=True)), **opts)
    assert fa.from_cache and fb.from_cache and fa.class_names == ["cat", "dog"]
    xa, xb = fa.features.astype(np.float64), fb.features.astype(np.float64)
    ma, mb = xa.mean(0), xb.mean(0)
    scores = run["report"].scores
    cos = ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)
    assert scores["prototype_cosine"].value == pytest.approx(cos, rel=1e-9)
    # n < D: both covariances live in the span of the centred rows, so tr sqrt(Sa Sb) is taken
    # there (an orthonormal basis Q of that span; scipy's sqrtm on a 30 x 30 product)
    ca, cb = xa - ma, xb - mb
    q, _ = np.linalg.qr(np.vstack([ca, cb]).T)
    sa, sb = (q.T @ c.T @ c @ q / (len(c) - 1) for c in (ca, cb))
    fd = ((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * scipy.linalg.sqrtm(sa @ sb).real)
    assert scores["fd_effnet_lite0"].value == pytest.approx(fd, rel=1e-4, abs=1e-6)


def test_to_dict_save_and_notebook_display(run: dict, tmp_path: Path) -> None:
    from semsim.report import validate_report_dict

    report = run["report"]
    d = report.to_dict()
    validate_report_dict(d)
    files = report.save(tmp_path / "out")
    names = set(files)
    assert {"report.json", "report.md", "report.html"} <= names
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".png") for n in names)
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == json.loads(json.dumps(d))
    assert "<img" in (tmp_path / "out" / "report.html").read_text()  # the evidence thumbnails
    html = report._repr_html_()
    assert f"similarity {report.similarity.value:.3f}" in html
    for name in report.scores:
        assert f"<code>{name}</code>" in html
    assert html.count("<table") == 1 + len(report.matrices) and ">cat</th>" in html
    report.title = "renamed <here>"  # changed since the call: written anew, not copied
    report.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "report.json").read_text())["title"] == report.title
    assert "renamed &lt;here&gt;" in report._repr_html_()
    report.title = d["title"]


def test_repr_html_of_a_hand_made_report_escapes_and_colours() -> None:
    from semsim.report import Headline, MatrixResult, Report, ScoreResult

    report = Report(
        inputs={"a": {"name": "A"}, "b": {"name": "B"}},
        encoder={"key": "e"},
        scores={"fd": ScoreResult(2.5, (1.0, 4.0), higher_is_more_similar=False)},
        matrices={"m": MatrixResult(np.array([[1.0, 0.0], [np.nan, 0.5]]), ["<x>", "y"])},
        similarity=Headline(0.25, (0.2, 0.3), "basis", "def", "reads <low>"),
    )
    html = report._repr_html_()
    assert "similarity 0.250" in html and "[0.200, 0.300]" in html and "[1.000, 4.000]" in html
    assert "&lt;x&gt;" in html and "<x>" not in html and "reads &lt;low&gt;" in html
    assert "rgb(33,102,172)" in html and "rgb(255,255,255)" in html  # highest / lowest cell


def test_import_stays_light_and_compare_is_callable() -> None:
    code = (
        "import sys, semsim\n"
        "heavy = [m for m in ('torch', 'timm', 'lightning', 'torchmetrics') if m in sys.modules]\n"
        "print(callable(semsim.compare), semsim.compare.__name__, heavy)\n"
        "import semsim.compare\n"
        "print(callable(semsim.compare), 'embed' in dir(semsim))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["True semsim.compare []", "True True"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_bootstrp": 0}, TypeError, "unknown option 'n_bootstrp'; did you mean `n_bootstrap`"),
        ({"n_bootstrap": "many"}, ValueError, "n_bootstrap: expected an integer, got `many`"),
        ({"encoder": "effnet_lite"}, ValueError, "did you mean `effnet_lite0`"),
        ({"source": "cifar"}, ValueError, "did you mean `cifar10`"),
        ({"a.max_per_clas": 3}, ValueError, "did you mean `a.max_per_class`"),
        ({"scores": "fd"}, ValueError, "scores: expected a list"),
        ({"batch_size": 0}, ValueError, "batch_size: expected an integer >= 1"),
        ({"seed": object()}, TypeError, "seed: expected a number, a string"),
        ({"trainer": "ddp_cpux"}, ValueError, "did you mean `ddp_cpu`"),
    ],
)
def test_bad_options_name_the_option(tmp_path: Path, kwargs: dict, error, message: str) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(error, match=message):
        semsim.compare(tmp_path, tmp_path, **{"out_dir": tmp_path / "out", **kwargs})
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("a", "error", "message"),
    [
        (42, TypeError, "a: expected a folder path, a list of images"),
        ("/no/such/folder", ValueError, "a: no such folder: /no/such/folder"),
        ({"root": "/x"}, ValueError, "a dict input needs a 'source' key"),
        ([np.zeros((4, 4, 3), np.uint8), "x"], TypeError, r"a\[1\]: expected a PIL image"),
        (np.full((2, 4, 4, 3), 2.0), ValueError, "float pixel values must be in"),
        (np.zeros((2, 4), np.uint8), ValueError, "must be \\(N, H, W, C\\)"),
        ([], ValueError, "a: no images"),
        ([(np.zeros((4, 4)), 0), (np.zeros((4, 4)), None)], ValueError, "some items have a label"),
    ],
)
def test_bad_inputs_name_the_argument(a, error, message: str) -> None:
    with pytest.raises(error, match=message):
        semsim.compare(a)


def test_embed_takes_only_extraction_options() -> None:
    with pytest.raises(TypeError, match="embed\\(\\) got an unknown option 'n_bootstrap'"):
        semsim.embed(np.zeros((2, 4, 4, 3), np.uint8), n_bootstrap=0)
    with pytest.raises(TypeError, match="did you mean `batch_size`"):
        semsim.embed(np.zeros((2, 4, 4, 3), np.uint8), batchsize=4)


def test_inputs_become_the_same_collection_whatever_their_form(tmp_path: Path) -> None:
    """An array (N, H, W, C) uint8, a tensor (N, C, H, W) in [0, 1], a list of PIL images and a
    dataset of (image, label) hold the same pixels: same fingerprint (so the same cache entry)."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 6, 7, 3), dtype=np.uint8)
    forms = [
        x,
        torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255,
        [Image.fromarray(i) for i in x],
        [torch.from_numpy(i).permute(2, 0, 1) for i in x],
    ]
    prints = {to_collection(f).fingerprint() for f in forms}
    assert len(prints) == 1
    np.testing.assert_array_equal(np.asarray(to_collection(forms[1]).load_image(3)), x[3])

    class Data:  # a torchvision-style dataset
        classes = ["zero", "one", "two"]

        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int):
            return Image.fromarray(x[i]), i % 3

    coll = to_collection(Data(), "b")
    assert coll.class_names == ["zero", "one", "two"] and coll.labels.tolist() == [0, 1, 2, 0, 1]
    files = []
    for i in range(2):
        Image.fromarray(x[i]).save(tmp_path / f"{i}.png")
        files.append(tmp_path / f"{i}.png")
    coll = to_collection(files, labels=["b", "a"])
    assert coll.class_names == ["a", "b"] and coll.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(np.asarray(coll.load_image(1)), x[1])
    mixed = to_collection([x[0], x[1, :4, :5], np.zeros((6, 7), np.uint8)])
    assert isinstance(mixed, ImageListCollection) and len(mixed) == 3
    assert mixed.load_image(1).size == (5, 4) and mixed.load_image(2).mode == "RGB"
