"""Behaviour preserved: the thin real/fake callback gives the round-1 callback's numbers.

``tests/legacy/realfake_round1.py`` is the round-1 callback (its own maths and hand-built report),
kept only for this comparison. Both analyse the same synthetic features and ``p``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_realfake import _fake_module, _images

TIMINGS = {"scores_s", "matrices_s", "embed_s", "total_s"}


def _assert_same(old, new, path="") -> None:
    if isinstance(old, dict):
        assert set(old) == set(new), f"{path}: keys {set(old) ^ set(new)}"
        for k in old:
            if k not in TIMINGS:
                _assert_same(old[k], new[k], f"{path}/{k}")
    elif isinstance(old, list):
        assert len(old) == len(new), path
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _assert_same(a, b, f"{path}/{i}")
    else:
        assert old == new, f"{path}: {old!r} != {new!r}"  # exact, floats included


@pytest.mark.parametrize("with_classes", [True, False])
def test_new_callback_reproduces_round1_numbers(tmp_path: Path, with_classes: bool):
    from semsim.callbacks.realfake import RealFakeSimilarityCallback, encoder_info
    from semsim.data import Subset
    from tests.legacy import realfake_round1 as old

    rng = np.random.default_rng(11)
    coll = _images(40)
    if not with_classes:
        coll.attributes.pop("class")
    subset = Subset(coll, np.arange(len(coll)))
    is_fake = subset.labels == 1
    feats = rng.normal(size=(len(coll), 8)) + 0.8 * is_fake[:, None]
    p = np.where(is_fake, rng.beta(5, 2, len(coll)), rng.beta(2, 5, len(coll)))
    opts = dict(
        scores=["prototype_cosine", "fd", "kid", "precision", "recall", "c2st"],
        matrix_scores=["prototype_cosine", "fd", "c2st"],
        n_bootstrap=8,
        n_pairs=500,  # fewer than the pairs: the sampled-pairs path too
        seed=3,
    )
    module = _fake_module("tf_efficientnet_lite0", "pretrained", True)
    enc, _ = encoder_info(module, None, "test")

    cb_old = old.RealFakeSimilarityCallback(**opts, out_dir=str(tmp_path / "old"))
    r_old = cb_old.analyse(subset, feats, p, module, enc, "test", "toy")
    cb_old.write(r_old, tmp_path / "old")
    cb_new = RealFakeSimilarityCallback(**opts, out_dir=str(tmp_path / "new"))
    r_new = cb_new.analyse(subset, feats, p, module, enc, "test", "toy")
    cb_new.write(r_new, tmp_path / "new")

    d_old = json.loads((tmp_path / "old" / "report.json").read_text())
    d_new = json.loads((tmp_path / "new" / "report.json").read_text())
    # the one intended change: pair_score moved from the top level into sections
    d_old["sections"] = {"pair_score": d_old.pop("pair_score")}
    _assert_same(d_old, d_new)
    for name in ("pair_score.csv", *(f"{m}.csv" for m in d_new["matrices"])):
        assert (tmp_path / "old" / name).read_text() == (tmp_path / "new" / name).read_text()
    old_md = (tmp_path / "old" / "report.md").read_text().split("## Run")[0]
    assert old_md == (tmp_path / "new" / "report.md").read_text().split("## Run")[0]
