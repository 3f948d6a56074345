"""The two headlines through the real `semsim.compare`: the content view is made, matched to the
pair, cached under its own provenance, and both headlines reach report.json/md/html."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import ImageFilter

from semsim.compare import compare
from semsim.data.sources.synthetic import synthetic
from semsim.features.content import collection_statistics
from semsim.features.rendering import matching_gains

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
FAST = ["encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null",
        "progress=false", "num_workers=0", "n_bootstrap=4", "noise_floor=false"]  # fmt: skip


def _folders(
    tmp_path: Path,
    blur: float = 1.5,
    gamma: float = 1.0,
    gray: bool = False,
    contrast: float = 1.0,
) -> tuple[Path, Path]:
    """A: 4 shapes x 16 images; B: the other 16 of each shape, blurred by ``blur`` px, through
    the tone curve ``v ** gamma``, its contrast scaled by ``contrast`` about mid-grey (and in
    grayscale with ``gray``)."""
    coll = synthetic(n_per_class=32, image_size=32, seed=0)
    a, b = tmp_path / "A", tmp_path / "B"
    for i in range(len(coll)):
        im = coll.load_image(i).convert("RGB")
        cls = coll.class_names[coll.labels[i]]
        side = a if i % 2 == 0 else b
        if side is b and blur:
            im = im.filter(ImageFilter.GaussianBlur(blur))
        if side is b and gamma != 1.0:
            im = im.point(lambda v: int(255 * (v / 255) ** gamma + 0.5))
        if side is b and contrast != 1.0:
            im = im.point(lambda v: int(127.5 + contrast * (v - 127.5) + 0.5))
        if side is b and gray:
            im = im.convert("L").convert("RGB")
        (side / cls).mkdir(parents=True, exist_ok=True)
        im.save(side / cls / f"{i:03d}.png")
    return a, b


def _cfg(tmp_path: Path, *overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("compare", overrides=[
            *FAST, f"out_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}", *overrides
        ])  # fmt: skip


def test_both_headlines_and_the_matched_content_view(tmp_path: Path) -> None:
    a, b = _folders(tmp_path)
    cfg = _cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}")
    report = compare(cfg)
    assert report.similarity is not None and report.similarity.basis == "content_similarity"
    assert report.appearance is not None and report.appearance.basis == "appearance"
    d = json.loads((tmp_path / "out" / "report.json").read_text())
    assert d["similarity"]["basis"] == "content_similarity"
    assert d["appearance"]["basis"] == "appearance"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Content similarity:" in md and "## Appearance:" in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert "content similarity " in html and "appearance " in html
    assert "similarity" in d["matrices"]  # the headline's class matrix, from the content view
    # the sharp collection (A) is blurred as B was (a Gaussian lives on no pixel grid, so the
    # blur step takes the place of resampling) at its own size, B keeps its own; the spectra are
    # matched after that (to whichever is then the poorer)
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p for p in provs if (p["encoder"].get("view") or {}).get("view") == "content"]
    by_root = {Path(p["collection"]["name"].split(":", 1)[-1]).name: p["encoder"]["view"]
               for p in views}  # fmt: skip
    assert set(by_root) == {"A", "B"}, by_root
    blur_a = by_root["A"]["native"].get("blur", 0.0)
    assert blur_a == pytest.approx(1.5, rel=0.25) and "blur" not in by_root["B"]["native"], by_root
    assert not by_root["A"]["native"]["resample"] and not by_root["B"]["native"]["resample"]
    # rendered differently: both views also on the 2x coarser grid at the images' own size
    natives = [p["encoder"]["view"]["native"] for p in views]
    assert all(n["floor"] for n in natives), natives
    # the report says what each collection got: A blurred as B, both on the 2x grid
    said = {w: d["inputs"][w]["content_view"] for w in ("a", "b")}
    assert "Gaussian blur" in said["a"], said
    assert "blur" not in said["b"] and all("2x coarser grid" in v for v in said.values())
    assert f"content_view: `{said['a']}`" in md
    assert "content read as: " in html and "2x coarser grid" in html


def test_two_samples_of_one_rendering_get_their_colour_only(tmp_path: Path) -> None:
    """No step of the view fires, and the pair's colours are alike: kept (features.colour)."""
    a, b = _folders(tmp_path, blur=0)
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}"))
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p["encoder"]["view"] for p in provs if (p["encoder"].get("view") or {}).get("view")]
    assert len(views) == 2
    for v in views:
        assert v["radial_gain"] == "none" and v["grayscale"] is False, v
        assert v["native"] == {
            "resample": None,
            "jpeg": None,
            "noise": 0.0,
            "floor": False,
            "colour": True,
        }, v


def test_one_grayscale_collection_puts_both_views_in_grayscale(tmp_path: Path) -> None:
    """B the same shapes in grayscale: neither view keeps colour (A's hues would tell them
    apart), both say so; the report's inputs name the reason."""
    a, b = _folders(tmp_path, blur=0, gray=True)
    report = compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}"))
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p["encoder"]["view"] for p in provs if (p["encoder"].get("view") or {}).get("view")]
    assert len(views) == 2
    for v in views:
        assert v["grayscale"] is True and "colour" not in v["native"], v
    said = json.loads((tmp_path / "out" / "report.json").read_text())["inputs"]
    assert all("grayscale (median chroma" in said[w]["content_view"] for w in ("a", "b")), said
    assert report.similarity is not None and report.similarity.value > 0.8


def test_a_tone_curve_puts_both_views_on_one_tone(tmp_path: Path) -> None:
    """B through gamma 2: both views carry the pair's tone map (two different maps, one for
    each collection); the same pair without the curve gets none (the test above)."""
    a, b = _folders(tmp_path, blur=0, gamma=2.0)
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}"))
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    natives = [p["encoder"]["view"]["native"] for p in provs if "view" in p["encoder"]]
    assert len(natives) == 2 and all(n.get("tone") for n in natives), natives
    assert natives[0]["tone"] != natives[1]["tone"]


def test_a_contrast_difference_is_toned_not_floored(tmp_path: Path) -> None:
    """B at 0.6 of A's contrast: its raw spectrum lies far below A's (amplitude x 0.6 at every
    frequency, beyond the same-rendering tolerance), but the pair's tone step puts both on one
    curve and the spectra are compared after it: no step degrades, no 2x coarser grid, no gain."""
    from semsim.data.sources.folder import folder
    from semsim.encoders import EncoderSpec

    a, b = _folders(tmp_path, blur=0, contrast=0.6)
    spec = EncoderSpec(name="tf_efficientnet_lite0", pretrained=False, image_size=32)
    raw = [collection_statistics(folder(root=str(r)), spec) for r in (a, b)]
    ga, _ = matching_gains(raw[0].power, raw[1].power, len(raw[0].stats), len(raw[1].stats))
    assert ga.min() < 0.85  # read before the tone step, the pair would get the coarser grid
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}"))
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p["encoder"]["view"] for p in provs if (p["encoder"].get("view") or {}).get("view")]
    assert len(views) == 2
    for v in views:
        assert v["native"].get("tone") and not v["native"]["floor"], v
        assert v["radial_gain"] == "none", v
    said = json.loads((tmp_path / "out" / "report.json").read_text())["inputs"]
    assert all("coarser grid" not in said[w]["content_view"] for w in "ab"), said


def test_a_spectrum_still_apart_after_the_tone_step_gets_the_coarser_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan of tone maps alone (the real plan's steps replaced by two identity tone maps) on a
    pair whose spectra differ (B blurred 1.5 px): the spectra read after the tone maps still
    differ, so both views get the coarser grid and A the attenuation: reading the spectra after
    the photometric steps does not hide a rendering."""
    import semsim.features.content as content_mod
    from semsim.features.native import NativeRendering

    same = tuple(np.linspace(0.0, 1.0, 257).tolist())
    monkeypatch.setattr(content_mod, "plan", lambda *a, **k: (NativeRendering(tone=same),
                                                              NativeRendering(tone=same)))  # fmt: skip
    a, b = _folders(tmp_path, blur=1.5)
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}"))
    said = json.loads((tmp_path / "out" / "report.json").read_text())["inputs"]
    assert all("2x coarser grid" in said[w]["content_view"] for w in "ab"), said
    assert "attenuated" in said["a"]["content_view"], said
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p["encoder"]["view"] for p in provs if (p["encoder"].get("view") or {}).get("view")]
    assert len(views) == 2 and all(v["native"]["floor"] for v in views), views


def test_gains_follow_the_pixel_statistics(tmp_path: Path) -> None:
    """The pipeline's pass and the maths agree: B blurred -> A attenuated, B untouched."""
    from semsim.data.sources.folder import folder
    from semsim.encoders import EncoderSpec

    a, b = _folders(tmp_path)
    spec = EncoderSpec(name="tf_efficientnet_lite0", pretrained=False, image_size=32)
    sa = collection_statistics(folder(root=str(a)), spec)
    sb = collection_statistics(folder(root=str(b)), spec)
    assert sa.stats.shape == (64, sb.stats.shape[1])
    ga, gb = matching_gains(sa.power, sb.power)
    assert np.all(gb == 1.0) and ga.min() < 0.5
    # same collection twice: no attenuation at all
    g1, g2 = matching_gains(sa.power, sa.power)
    assert np.all(g1 == 1.0) and np.all(g2 == 1.0)


def test_a_alone_gets_a_grayscale_content_view(tmp_path: Path) -> None:
    a, _ = _folders(tmp_path)
    report = compare(_cfg(tmp_path, "a=folder", f"a.root={a}"))
    assert report.similarity is None and "similarity" in report.matrices
    m = np.asarray(report.matrices["similarity"].values, dtype=float)
    assert np.allclose(np.diag(m), 1.0) and np.all((m >= 0) & (m <= 1))


def test_no_second_pass_when_no_score_reads_the_views(tmp_path: Path) -> None:
    a, b = _folders(tmp_path)
    report = compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}",
                          "scores=[prototype_cosine]", "matrix_scores=[prototype_cosine]"))  # fmt: skip
    assert report.similarity is None and report.appearance is None
    assert not list((tmp_path / "cache").glob("pixstats-*"))  # no pixel pass
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    assert len(provs) == 2 and all("view" not in p["encoder"] for p in provs)  # plain A and B


def test_streaming_makes_the_content_view_of_its_sample(tmp_path: Path) -> None:
    """A streaming compare reads both headlines from each collection's bounded sample."""
    a, b = _folders(tmp_path)
    report = compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}",
                          "streaming=true", "sample_size=40", "shard_size=32"))  # fmt: skip
    assert report.similarity is not None and report.similarity.basis == "content_similarity"
    assert report.appearance is not None
    provs = [json.loads(p.read_text())["provenance"] for p in (tmp_path / "cache").glob("*.json")]
    views = [p for p in provs if (p["encoder"].get("view") or {}).get("view") == "content"]
    assert sorted(v["collection"]["n_images"] for v in views) == [40, 40]


def test_the_pixel_pass_rides_on_the_plain_pass(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A cold compare decodes each image once for the plain features and the pixel statistics:
    no pixel pass of its own, cold or cached."""
    import semsim.features.content as content_mod

    a, b = _folders(tmp_path, blur=0.0)
    passes: list[str] = []
    real = content_mod.pixel_pass

    def counted(coll, *args, **kw):  # noqa: ANN001, ANN202
        passes.append(coll.name)
        return real(coll, *args, **kw)

    monkeypatch.setattr(content_mod, "pixel_pass", counted)
    cfg = _cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}")
    assert compare(cfg).similarity is not None
    assert passes == []
    assert compare(cfg).similarity is not None  # cached: the statistics from the cache
    assert passes == []


def test_sidecar_statistics_equal_a_pixel_pass_of_their_own(tmp_path: Path) -> None:
    from semsim.data.collection import ArrayCollection
    from semsim.encoders import EncoderSpec
    from semsim.features import extract_features
    from semsim.features.content import PixelSidecar

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (21, 28, 36, 3), dtype=np.uint8)
    coll = ArrayCollection(images, np.arange(21) % 3, ["a", "b", "c"], "rand")
    # no crop (a centre crop with an odd margin is itself 1 px off under a flip)
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32, crop_pct=1.0)
    kw = {"batch_size": 8, "num_workers": 0, "progress": False, "device": "cpu"}
    sidecar = PixelSidecar(spec)
    extract_features(coll, spec, sidecar=sidecar, cache_dir=tmp_path, **kw)
    got = sidecar.result(len(coll))
    ref = collection_statistics(coll, spec, batch_size=8, cache_dir=None)
    assert got is not None
    for field in ("power", "stats", "native", "tone"):
        np.testing.assert_allclose(getattr(got, field), getattr(ref, field), rtol=1e-6, atol=1e-9)
    assert got.size == ref.size
    # the features came from the cache: the sidecar saw nothing and says so
    again = PixelSidecar(spec)
    extract_features(coll, spec, sidecar=again, cache_dir=tmp_path, **kw)
    assert again.result(len(coll)) is None


def test_a_collection_and_its_mirror_image_have_one_content(tmp_path: Path) -> None:
    """Objects that all sit on the left against the same objects mirrored (on the right): the
    plan reads the pair as mirror images and turns every image of both to face one way, so
    the two collections' content features agree image by image, while the plain embedding (an
    encoder not blind to flips) differs; a collection alone is not turned."""
    from PIL import Image

    from semsim.data.sources.folder import folder
    from semsim.encoders import EncoderSpec
    from semsim.features.content import content_arrays
    from semsim.features.extract import extract_features

    coll = synthetic(n_per_class=40, image_size=16, seed=1)
    a, b = tmp_path / "A", tmp_path / "B"
    for i in range(len(coll)):
        im = Image.new("RGB", (32, 32))
        im.paste(coll.load_image(i).convert("RGB"), (1, 8))  # on the left
        for side, img in ((a, im), (b, im.transpose(Image.FLIP_LEFT_RIGHT))):
            (side / "x").mkdir(parents=True, exist_ok=True)
            img.save(side / "x" / f"{i:03d}.png")
    # no crop (a centre crop with an odd margin is itself 1 px off under a flip)
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32, crop_pct=1.0)
    extract = {"batch_size": 16, "num_workers": 0, "progress": False}
    views: dict[str, str] = {}
    pair = content_arrays({"a": folder(root=str(a)), "b": folder(root=str(b))}, spec, extract,
                          views=views)  # fmt: skip
    assert all("turned to face one way" in v for v in views.values()), views
    np.testing.assert_allclose(pair["a"][0], pair["b"][0], rtol=1e-4, atol=1e-5)
    plain = {w: extract_features(folder(root=str(r)), spec, **extract).features
             for w, r in (("a", a), ("b", b))}  # fmt: skip
    assert np.abs(plain["a"] - plain["b"]).max() > 1e-3
    alone = content_arrays({"a": folder(root=str(a))}, spec, extract)["a"][0]
    assert np.abs(alone - pair["a"][0]).max() > 1e-3  # not turned: one collection, no pair
