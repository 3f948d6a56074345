"""Evidence selection: checked against brute-force scipy/numpy float64 computations."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cdist

from semsim.data.collection import ArrayCollection, FileCollection, Subset
from semsim.evidence import (
    attach_evidence,
    build_evidence,
    content_hashes,
    find_cross_duplicates,
    image_paths,
    indices_to_drop,
    keep_mask,
    without_duplicates,
)
from semsim.evidence.represent import kmeans, two_proportion_z


def _feats(x, labels=None, names=None, **kw):
    return SimpleNamespace(features=x, labels=labels, class_names=names, **kw)


def _kth(x: np.ndarray, k: int) -> np.ndarray:
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def test_manifold_galleries_match_brute_force_and_find_planted_outliers():
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(120, 8))
    xb = rng.normal(size=(100, 8))
    xb[[7, 42, 90]] += 12.0  # three B images far from every A image
    xa[:10] += np.array([20.0] + [0.0] * 7)  # a region of A that B lacks
    ev = build_evidence(_feats(xa), _feats(xb), k=5, n_show=5)
    g = {x["key"]: x for x in ev["galleries"]}
    # reference: min_i ||b - a_i|| / r_A(i), float64 scipy
    ra, rb = _kth(xa, 5), _kth(xb, 5)
    ref_b = (cdist(xb, xa) / ra[None, :]).min(axis=1)
    ref_holes = cdist(xa, xb).min(axis=1) / ra
    ref_a = (cdist(xa, xb) / rb[None, :]).min(axis=1)
    b_items = g["b_outside_a"]["items"]
    assert {it["index"] for it in b_items[:3]} == {7, 42, 90}
    assert [it["index"] for it in b_items] == list(np.argsort(-ref_b, kind="stable")[:5])
    np.testing.assert_allclose([it["score"] for it in b_items], np.sort(ref_b)[::-1][:5], rtol=1e-3)
    assert g["b_outside_a"]["n_outside"] == int((ref_b > 1).sum())
    assert g["coverage_holes"]["n_outside"] == int((ref_holes > 1).sum())
    assert {it["index"] for it in g["coverage_holes"]["items"]} <= set(range(10))
    assert [it["index"] for it in g["a_outside_b"]["items"]] == list(np.argsort(-ref_a)[:5])
    assert all(it["set"] == "b" for it in b_items)


def test_typical_images_and_class_pairs_match_cosine_brute_force():
    rng = np.random.default_rng(1)
    names = ["cat", "dog", "<ship>"]
    la = np.repeat([0, 1, 2], 30)
    lb = np.repeat([0, 1, 2], 20)
    centers = rng.normal(size=(3, 16)) * 3
    xa = centers[la] + rng.normal(size=(90, 16))
    xb = centers[lb] + rng.normal(size=(60, 16))
    ev = build_evidence(_feats(xa, la, names), _feats(xb, lb, names), n_typical=3, n_pairs=2)
    ua = xa / np.linalg.norm(xa, axis=1, keepdims=True)
    ub = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    dog = next(r for r in ev["typical"]["classes"] if r["class"] == "dog")
    members = np.flatnonzero(lb == 1)
    proto = ub[members].mean(0)
    cos = ub[members] @ (proto / np.linalg.norm(proto))
    assert [it["index"] for it in dog["b"]] == list(members[np.argsort(-cos)[:3]])
    assert all(it["label"] == "dog" for it in dog["a"] + dog["b"])
    (block,) = ev["class_pairs"]
    assert block["kind"] == "a_vs_b" and len(block["cells"]) == 9
    cell = next(c for c in block["cells"] if c["row"] == "cat" and c["col"] == "<ship>")
    ia, ib = np.flatnonzero(la == 0), np.flatnonzero(lb == 2)
    s = ua[ia] @ ub[ib].T
    i, j = np.unravel_index(np.argmax(s), s.shape)
    top = cell["pairs"][0]
    assert (top["a"]["index"], top["b"]["index"]) == (ia[i], ib[j])
    assert top["score"] == pytest.approx(s[i, j], abs=1e-4)
    assert cell["pairs"][1]["score"] <= top["score"]
    # one collection: the pairs of the A x A matrix, each unordered pair once
    ev1 = build_evidence(_feats(xa, la, names))
    assert [c["kind"] for c in ev1["class_pairs"]] == ["within_a"]
    assert len(ev1["class_pairs"][0]["cells"]) == 3
    assert "galleries" in ev1 and ev1["galleries"] == []


def test_representation_by_class_ranks_the_over_represented_class_first():
    rng = np.random.default_rng(2)
    names = ["cat", "dog", "ship"]
    la = np.repeat([0, 1, 2], [40, 40, 40])
    lb = np.repeat([0, 1, 2], [40, 40, 120])  # B has three times as many ships
    xa, xb = rng.normal(size=(120, 8)), rng.normal(size=(200, 8))
    ev = build_evidence(_feats(xa, la, names), _feats(xb, lb, names))
    rep = {r["by"]: r for r in ev["representation"]}
    top = rep["class"]["rows"][0]
    assert top["name"] == "ship" and top["direction"] == "over"
    p = (40 + 120) / 320
    z = (120 / 200 - 40 / 120) / np.sqrt(p * (1 - p) * (1 / 120 + 1 / 200))
    assert top["z"] == pytest.approx(z, abs=1e-3)
    assert top["share_a"] == pytest.approx(1 / 3, abs=1e-4)
    assert all(it["set"] == "b" and it["label"] == "ship" for it in top["examples"])
    assert {r["name"] for r in rep["class"]["rows"][1:]} == {"cat", "dog"}
    assert all(r["direction"] == "under" for r in rep["class"]["rows"][1:])


def test_two_proportion_z_zero_when_no_information():
    assert two_proportion_z(np.array([0]), 10, np.array([0]), 5)[0] == 0.0
    assert two_proportion_z(np.array([10]), 10, np.array([5]), 5)[0] == 0.0


def test_clusters_find_the_blob_b_has_more_of_and_are_seeded():
    rng = np.random.default_rng(3)
    d = 12
    blob1, blob2 = np.eye(d)[0] * 10, np.eye(d)[1] * 10
    xa = np.concatenate([blob1 + rng.normal(size=(90, d)), blob2 + rng.normal(size=(10, d))])
    xb = np.concatenate([blob1 + rng.normal(size=(30, d)), blob2 + rng.normal(size=(70, d))])
    ev = build_evidence(_feats(xa), _feats(xb), seed=5)
    (clusters,) = [r for r in ev["representation"] if r["by"] == "cluster"]
    over = [r for r in clusters["rows"] if r["direction"] == "over"]
    # every cluster B has more of holds blob-2 images only
    for row in over:
        assert all(it["set"] == "b" and it["index"] >= 30 for it in row["examples"])
    assert sum(r["n_b"] for r in over) >= 60
    again = build_evidence(_feats(xa), _feats(xb), seed=5)
    assert json.dumps(again["representation"]) == json.dumps(ev["representation"])


def test_kmeans_recovers_separated_groups():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(50, 4)), rng.normal(size=(50, 4)) + 20]).astype("f4")
    _, assign = kmeans(x, 2, seed=0)
    assert len(set(assign[:50])) == 1 and len(set(assign[50:])) == 1
    assert assign[0] != assign[99]


def test_concepts_rank_the_concept_b_has_more_of():
    rng = np.random.default_rng(4)
    xa, xb = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
    ca, cb = rng.normal(size=(60, 5)), rng.normal(size=(60, 5))
    cb[:, 3] += 4.0
    names = ["tench", "goldfish", "shark", "<b>hen</b>", "ostrich"]
    ev = build_evidence(
        _feats(xa, concepts=ca, concept_names=names), _feats(xb, concepts=cb, concept_names=names)
    )
    rep = {r["by"]: r for r in ev["representation"]}
    top = rep["concept"]["rows"][0]
    assert top["name"] == "<b>hen</b>" and top["direction"] == "over"
    pa = np.exp(ca) / np.exp(ca).sum(1, keepdims=True)
    pb = np.exp(cb) / np.exp(cb).sum(1, keepdims=True)
    assert top["diff"] == pytest.approx(pb[:, 3].mean() - pa[:, 3].mean(), abs=1e-4)
    assert top["examples"][0]["index"] == int(np.argmax(pb[:, 3]))
    assert "(" in rep["cluster"]["rows"][0]["name"]  # clusters named by their top concept


def test_evidence_is_deterministic_json_and_subsample_is_seeded():
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=(300, 6)), rng.normal(size=(300, 6)) + 0.3
    kw = {"max_n": 100, "seed": 1}
    e1, e2 = (
        build_evidence(_feats(xa), _feats(xb), **kw),
        build_evidence(_feats(xa), _feats(xb), **kw),
    )
    for e in (e1, e2):
        e.pop("timings")
    assert json.dumps(e1) == json.dumps(e2)
    assert e1["n_used"] == {"a": 100, "b": 100}
    e3 = build_evidence(_feats(xa), _feats(xb), max_n=100, seed=2)
    assert e3["galleries"][0]["items"] != e1["galleries"][0]["items"]


def test_bad_features_give_one_line_errors():
    with pytest.raises(ValueError, match="NaN"):
        build_evidence(_feats(np.full((5, 3), np.nan)))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        build_evidence(_feats(np.zeros(5)))


# --- duplicates ---------------------------------------------------------------------------


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def test_exact_and_near_duplicates_across_a_and_b(tmp_path):
    a_pixels, b_pixels = _images(20, 0), _images(15, 1)
    b_pixels[[3, 9]] = a_pixels[[4, 11]]  # exact copies
    paths = []
    for i, im in enumerate(a_pixels):
        paths.append(tmp_path / f"a{i}.png")
        Image.fromarray(im).save(paths[-1])
    coll_a = FileCollection(paths, name="a")
    coll_b = ArrayCollection(b_pixels, name="b")
    ha, hb = content_hashes(coll_a), content_hashes(coll_b)
    assert len(set(ha)) == 20 and len(hb) == 15
    # pixel hashes of A (decoded) meet B's: PNG is lossless
    ha_px = content_hashes(ArrayCollection(a_pixels))
    rng = np.random.default_rng(2)
    fa = rng.normal(size=(20, 32))
    fb = rng.normal(size=(15, 32))
    fb[[3, 9]] = fa[[4, 11]]
    fb[12] = fa[0] + 0.01 * rng.normal(size=32)  # a near copy (e.g. re-encoded)
    d = find_cross_duplicates(fa, fb, ha_px, hb, paths_b=None, paths_a=image_paths(coll_a))
    assert (d["n_exact"], d["n_near"]) == (2, 1)
    assert d["b_indices"] == [3, 9, 12] and d["a_indices"] == [0, 4, 11]
    kinds = [(e["kind"], e["a"]["index"], e["b"]["index"]) for e in d["examples"]]
    assert kinds == [("exact", 4, 3), ("exact", 11, 9), ("near", 0, 12)]
    assert d["examples"][0]["a"]["path"] == str(paths[4])
    np.testing.assert_array_equal(indices_to_drop(d), [3, 9, 12])
    np.testing.assert_array_equal(indices_to_drop(d, "a"), [0, 4, 11])
    assert keep_mask(15, indices_to_drop(d)).sum() == 12
    json.dumps(d)
    # file-byte hashes: a PNG and the same pixels in memory are different bytes
    d2 = find_cross_duplicates(fa, fb, ha, hb)
    assert d2["n_exact"] == 0 and d2["n_near"] == 3
    with pytest.raises(ValueError, match="side"):
        indices_to_drop(d, "c")
    with pytest.raises(ValueError, match="threshold"):
        find_cross_duplicates(fa, fb, threshold=1.5)


def test_image_paths_follow_subsets(tmp_path):
    paths = []
    for i, im in enumerate(_images(4, 3)):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(im).save(paths[-1])
    coll = FileCollection(paths)
    assert image_paths(Subset(coll, [2, 0])) == [str(paths[2]), str(paths[0])]
    assert image_paths(ArrayCollection(_images(2, 0))) is None
    sub_hashes = content_hashes(Subset(coll, [1]))
    assert sub_hashes == [content_hashes(coll)[1]]


def test_without_duplicates_drops_b_rows_of_a_features_object():
    from semsim.features import Features

    rng = np.random.default_rng(0)
    fa = Features(rng.normal(size=(10, 4)).astype("f4"), np.arange(10) % 2, ["x", "y"])
    xb = rng.normal(size=(6, 4)).astype("f4")
    xb[[1, 4]] = fa.features[[2, 3]]
    fb = Features(xb, np.arange(6) % 2, ["x", "y"], attributes={"k": (np.arange(6), ["n"])})
    d = find_cross_duplicates(fa.features, fb.features)
    clean = without_duplicates(fb, d)
    assert isinstance(clean, Features) and len(clean) == 4
    np.testing.assert_array_equal(clean.features, xb[[0, 2, 3, 5]])
    np.testing.assert_array_equal(clean.labels, [0, 0, 1, 1])
    np.testing.assert_array_equal(clean.attributes["k"][0], [0, 2, 3, 5])
    assert len(fb) == 6  # the original is untouched


def test_attach_evidence_fills_both_sections_from_collections():
    from semsim.report import Report

    pixels = _images(30, 7)
    coll_a = ArrayCollection(pixels[:20], np.arange(20) % 2, ["p", "q"])
    coll_b = ArrayCollection(pixels[15:], np.arange(15) % 2, ["p", "q"])  # 5 shared images
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 8))
    fa = _feats(x[:20], coll_a.labels, ["p", "q"])
    fb = _feats(x[15:], coll_b.labels, ["p", "q"])
    report = Report(inputs={}, encoder={})
    attach_evidence(report, fa, fb, coll_a, coll_b, seed=0)
    assert report.sections["duplicates"]["n_exact"] == 5
    assert report.sections["duplicates"]["b_indices"] == [0, 1, 2, 3, 4]
    assert {g["key"] for g in report.sections["evidence"]["galleries"]} == {
        "b_outside_a", "a_outside_b", "coverage_holes",
    }  # fmt: skip
    json.dumps(report.to_dict())


def test_attach_evidence_says_why_without_per_image_features():
    from semsim.report import Report
    from semsim.report.html import render_html

    report = Report(inputs={}, encoder={})
    empty = _feats(np.zeros((0, 8)))
    attach_evidence(report, empty, empty)
    assert "streaming" in report.sections["evidence"]["skipped"]
    assert "No evidence: no per-image features" in render_html(report)
