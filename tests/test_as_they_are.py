"""The pair's planned common rendering checked against the images as they are
(semsim.features.as_they_are): the larger overlap decides, and through content_arrays a plan
that renders a shared content apart gives way to the plain features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semsim.features import as_they_are
from semsim.features.as_they_are import planned_or_plain


def _cloud(n: int, shift: float, seed: int, d: int = 16) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d))
    x[:, 0] += shift
    return x.astype(np.float32)


def _knn_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """min(1, 2 - 2 acc) of a leave-one-out k-NN vote (cosine), balanced sets, by brute force."""
    x = np.concatenate([a, b]).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    right = 0.0
    for i in range(len(x)):
        votes = y[np.argsort(-s[i], kind="stable")[:k]]
        same = (votes == y[i]).sum()
        right += 1.0 if same > k / 2 else 0.5 if same == k / 2 else 0.0
    return min(1.0, 2 - 2 * right / len(x))


def test_the_plain_features_win_when_the_plan_renders_the_pair_apart():
    # planned: A and B pulled apart (a step fired on them); plain: the same distribution
    planned = {"a": _cloud(200, 0.0, 1), "b": _cloud(200, 6.0, 2)}
    plain = {"a": _cloud(200, 0.0, 3, d=8), "b": _cloud(200, 0.0, 4, d=8)}
    keep, ours, theirs = planned_or_plain(planned, plain)
    assert not keep
    assert ours == pytest.approx(_knn_overlap(planned["a"], planned["b"]), abs=1e-9)
    assert theirs == pytest.approx(_knn_overlap(plain["a"], plain["b"]), abs=1e-9)
    assert ours < 0.2 < 0.7 < theirs


def test_the_plan_is_kept_when_it_brings_the_pair_together():
    planned = {"a": _cloud(200, 0.0, 1), "b": _cloud(200, 0.0, 2)}
    plain = {"a": _cloud(200, 0.0, 3), "b": _cloud(200, 6.0, 4)}  # a rendering the plan undid
    keep, ours, theirs = planned_or_plain(planned, plain)
    assert keep and ours > theirs


def test_large_collections_are_read_on_a_seeded_sample(monkeypatch):
    monkeypatch.setattr(as_they_are, "SAMPLE", 50)
    planned = {"a": _cloud(300, 0.0, 1), "b": _cloud(120, 0.5, 2)}
    plain = {"a": _cloud(300, 0.0, 3), "b": _cloud(120, 0.0, 4)}
    first, second = planned_or_plain(planned, plain), planned_or_plain(planned, plain)
    assert first == second  # seeded
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(2)
    ia = np.sort(rng_a.choice(300, 50, replace=False))
    ib = np.sort(rng_b.choice(120, 50, replace=False))
    assert first[1] == pytest.approx(_knn_overlap(planned["a"][ia], planned["b"][ib]), abs=1e-9)


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """A and B: the same 4 shapes, other images of each (one content, one rendering)."""
    from semsim.data.sources.synthetic import synthetic

    coll = synthetic(n_per_class=24, image_size=32, seed=0)
    a, b = tmp_path / "A", tmp_path / "B"
    for i in range(len(coll)):
        side = a if i % 2 == 0 else b
        cls = coll.class_names[coll.labels[i]]
        (side / cls).mkdir(parents=True, exist_ok=True)
        coll.load_image(i).convert("RGB").save(side / cls / f"{i:03d}.png")
    return a, b


def test_content_arrays_falls_back_to_the_images_as_they_are(tmp_path: Path, monkeypatch):
    """A plan that lifts B alone to near white (as a step fired on a content difference
    would) renders the pair apart: the content features become the plain features and the view
    says why; with the check switched off the planned view reads them apart."""
    import semsim.features.content as content
    from semsim.data.sources.folder import folder
    from semsim.encoders import EncoderSpec
    from semsim.features.extract import extract_features
    from semsim.features.native import NativeRendering

    a, b = _pair(tmp_path)
    colls = {"a": folder(root=str(a)), "b": folder(root=str(b))}
    spec = EncoderSpec("test_efficientnet", pretrained=False, image_size=32, crop_pct=1.0)
    extract = {"batch_size": 16, "num_workers": 0, "progress": False,
               "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    wrong = (NativeRendering(), NativeRendering(tone=tuple(np.linspace(0.8, 1.0, 257))))
    monkeypatch.setattr(content, "plan", lambda *args, **kw: wrong)
    views: dict[str, str] = {}
    got = content.content_arrays(colls, spec, extract, views=views)
    plain = {w: extract_features(c, spec, **extract).features for w, c in colls.items()}
    for w in "ab":
        np.testing.assert_array_equal(got[w][0], plain[w])
        assert views[w].startswith("the images as they are (the planned view"), views[w]
    monkeypatch.setattr(as_they_are, "planned_or_plain", lambda p, q: (True, 0.0, 0.0))
    planned = content.content_arrays(colls, spec, extract)
    assert np.abs(planned["b"][0] - plain["b"]).max() > 1e-3
    assert _knn_overlap(planned["a"][0], planned["b"][0]) < _knn_overlap(plain["a"], plain["b"])
