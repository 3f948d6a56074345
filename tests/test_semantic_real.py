"""The content headline on real CIFAR-10 images through the real `semsim.compare` (slow).

Uses bench/semantic.py's re-renderings and the shared CIFAR-10 test split (skipped when absent).
Invariance: disjoint halves of the same classes, B re-rendered, stay >= 0.85. Sensitivity: vehicles
vs animals <= 0.5; the headline falls as B draws more of its images from classes A lacks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10" / "test"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ROOT.is_dir(), reason=f"needs CIFAR-10 image folders at {ROOT}"),
]
N = 40


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import semantic

    tmp = tmp_path_factory.mktemp("semantic")
    classes = sorted(d.name for d in ROOT.iterdir())
    extra = [f"cache_dir={tmp / 'cache'}", "n_bootstrap=0", "noise_floor=false"]

    def sim(a: Path, b: Path) -> float:
        r = semantic.run_compare(a, b, tmp / "out", extra)
        return r["similarity"]["value"]

    return semantic, tmp, classes, sim


@pytest.mark.parametrize("rendering", ["blur 1.2 px", "2x down-up", "grayscale", "JPEG q25"])
def test_rerendered_copy_keeps_its_content(env, rendering):
    semantic, tmp, classes, sim = env
    a = semantic.write_set(ROOT, tmp / "A", {c: list(range(100, 100 + N)) for c in classes})
    b = semantic.write_set(
        ROOT, tmp / rendering, {c: list(range(N)) for c in classes}, semantic.RENDERINGS[rendering]
    )
    assert sim(a, b) >= 0.85


def test_vehicles_vs_animals_and_foreign_share(env):
    semantic, tmp, classes, sim = env
    veh = [c for c in classes if c in semantic.VEHICLES]
    anim = [c for c in classes if c not in semantic.VEHICLES]
    a = semantic.write_set(ROOT, tmp / "veh", {c: list(range(N)) for c in veh})
    b = semantic.write_set(ROOT, tmp / "anim", {c: list(range(100, 100 + N)) for c in anim})
    # the content headline's class-split target (issue #21 item 3: a 5-vs-5 split <= 0.5); the
    # concept headline it replaced read 0.20 here, the content score 0.43 at 40 images a class
    assert sim(a, b) <= 0.5
    b_veh = semantic.write_set(ROOT, tmp / "veh2", {c: list(range(100, 100 + N)) for c in veh})
    values = []
    for share in (0.0, 0.5, 1.0):
        k = round(N * share)
        picks = {c: list(range(k)) for c in anim[:4]} | {c: list(range(N - k)) for c in veh}
        values.append(sim(b_veh, semantic.write_set(ROOT, tmp / f"mix{k}", picks)))
    assert values[0] > values[1] > values[2], values
