"""Issue #25 items 3-4: writes checked before compute and never into an input; bounded work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

import semsim.compare as compare_module
import semsim.data.sources  # noqa: F401  (registers the a=/b= config aliases)
from semsim import guards
from semsim.compare import compare, main
from semsim.utils import UsageError

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
FAST = [
    "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null", "progress=false",
    "num_workers=0", "scores=[prototype_cosine]", "matrix_scores=[prototype_cosine]",
    "n_bootstrap=0", "noise_floor=false",
]  # fmt: skip
LINUX_PSEUDO = Path("/proc/self").exists() and Path("/sys/kernel").is_dir()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps console lines at the terminal width; wide enough that paths stay whole."""
    monkeypatch.setenv("COLUMNS", "1000")


def _cfg(tmp_path: Path, *overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("compare", overrides=[*FAST, f"cache_dir={tmp_path / 'cache'}", *overrides])


def _images(root: Path, classes: dict[str, int], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for name, n in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            px = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(px).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def no_images_read(monkeypatch: pytest.MonkeyPatch):
    """Fail if compare gets as far as building a collection."""

    def boom(*a, **k):
        raise AssertionError("an input was read before the options were checked")

    monkeypatch.setattr(compare_module, "build_collection", boom)


# --- probes: a real create/write/remove --------------------------------------------------------
@pytest.mark.skipif(not LINUX_PSEUDO, reason="needs Linux /proc and /sys")
@pytest.mark.parametrize("where", ["/proc/semsim_x", "/sys/kernel/semsim_x"])
def test_pseudo_filesystems_fail_before_any_image(tmp_path: Path, where: str, no_images_read):
    # os.access says yes to root for both; only a real write tells
    with pytest.raises(UsageError, match=rf"^out_dir: cannot create folder {where} \("):
        compare(_cfg(tmp_path, f"out_dir={where}"))


@pytest.mark.skipif(not LINUX_PSEUDO, reason="needs Linux /proc")
def test_cache_dir_from_the_environment_is_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_images_read
) -> None:
    monkeypatch.setenv("SEMSIM_CACHE_DIR", "/proc/semsim_cache")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("compare", overrides=[*FAST, f"out_dir={tmp_path / 'out'}"])
    with pytest.raises(UsageError, match=r"^cache_dir: cannot create folder /proc/semsim_cache.*"
                       r"SEMSIM_CACHE_DIR"):  # fmt: skip
        compare(cfg)


def test_probe_leaves_the_tree_as_it_was(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    assert guards.probe_dir(deep, "out_dir") == deep
    assert list(tmp_path.iterdir()) == []  # created folders removed again
    (tmp_path / "keep").mkdir()
    guards.probe_dir(tmp_path / "keep", "out_dir")
    assert list((tmp_path / "keep").iterdir()) == []  # the probe file is gone


def test_probe_names_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="out_dir: .* exists and is not a folder"):
        guards.probe_dir(tmp_path / "f", "out_dir")
    with pytest.raises(UsageError, match="cache_dir: .* cannot be a folder: .* is a file"):
        guards.probe_dir(tmp_path / "f" / "sub", "cache_dir")


def test_probe_catches_a_failing_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(guards.os, "write", no_space)
    with pytest.raises(
        UsageError, match=r"out_dir: cannot write in .* \(No space left on device\)"
    ):
        guards.probe_dir(tmp_path, "out_dir")
    assert [p.name for p in tmp_path.iterdir()] == []  # the probe file was removed


# --- out_dir inside an input -------------------------------------------------------------------
@pytest.mark.parametrize("inside", ["a", "b"])
def test_out_dir_inside_an_input_is_left_out_run_after_run(
    tmp_path: Path, inside: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _images(tmp_path / "A", {"cat": 6, "dog": 6})
    b = _images(tmp_path / "B", {"cat": 6, "ship": 6}, seed=1)
    out = (a if inside == "a" else b) / "report"
    args = ["a=folder", f"a.root={a}", "b=folder", f"b.root={b}", f"out_dir={out}"]
    for run in range(2):  # the second run finds the first run's PNGs inside the input
        report = compare(_cfg(tmp_path, *args))
        assert report is not None
        assert list(report.inputs["a"]["classes"]) == ["cat", "dog"], run
        assert list(report.inputs["b"]["classes"]) == ["cat", "ship"], run
        assert report.inputs["a"]["n_images"] == 12 and report.inputs["b"]["n_images"] == 12
        err = capsys.readouterr().err
        assert f"lies inside input {inside}" in " ".join(err.split())
        assert "it is left out of" in " ".join(err.split())
    assert any(p.suffix == ".png" for p in out.iterdir())


def test_out_dir_equal_to_an_input_is_refused_before_anything(tmp_path: Path) -> None:
    a = _images(tmp_path / "A", {"cat": 4})
    b = _images(tmp_path / "B", {"cat": 4}, seed=1)
    for which, root in (("a", a), ("b", b)):
        with pytest.raises(UsageError, match=rf"out_dir: .* is the folder of input {which} itself"):
            compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}",
                         f"out_dir={root}"))  # fmt: skip
        assert not (root / "report.json").exists()


def test_out_dir_inside_an_input_holding_its_images_is_refused(tmp_path: Path) -> None:
    a = _images(tmp_path / "A", {"cat": 4, "dog": 4})
    with pytest.raises(UsageError, match="lies inside input a .* holds images of it"):
        compare(_cfg(tmp_path, "a=folder", f"a.root={a}", f"out_dir={a / 'dog'}"))


def test_an_earlier_report_inside_an_input_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _images(tmp_path / "A", {"cat": 6, "dog": 6})
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", f"out_dir={a / 'old'}"))
    # now written elsewhere: the old report folder is still no class of A
    report = compare(_cfg(tmp_path, "a=folder", f"a.root={a}", f"out_dir={tmp_path / 'new'}"))
    assert report is not None and list(report.inputs["a"]["classes"]) == ["cat", "dog"]
    assert f"left out {a / 'old'}" in " ".join(capsys.readouterr().err.split())


# --- Hydra writes nothing beside out_dir -------------------------------------------------------
def _cli(monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str) -> int:
    GlobalHydra.instance().clear()
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["semsim.compare", *args])
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_hydra_writes_inside_out_dir_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    cwd = tmp_path / "cwd"
    rc = _cli(monkeypatch, cwd, *FAST, "a.n_per_class=4", f"cache_dir={tmp_path / 'c'}",
              f"out_dir={out}")  # fmt: skip
    assert rc == 0
    assert list(cwd.iterdir()) == []  # no outputs/compare/<time>/
    assert (out / "report.json").exists() and (out / ".hydra" / "config.yaml").exists()


@pytest.mark.skipif(not LINUX_PSEUDO, reason="needs Linux /proc")
def test_cli_unwritable_out_dir_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cwd = tmp_path / "cwd"
    rc = _cli(monkeypatch, cwd, *FAST, "out_dir=/proc/semsim_x")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("error: out_dir: cannot create folder /proc/semsim_x")
    assert list(cwd.iterdir()) == []


def test_cli_out_dir_equal_to_an_input_writes_nothing_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _images(tmp_path / "A", {"cat": 4})
    before = sorted(os.listdir(a))
    rc = _cli(monkeypatch, tmp_path / "cwd", *FAST, "a=folder", f"a.root={a}", f"out_dir={a}")
    assert rc == 2
    assert "is the folder of input a itself" in capsys.readouterr().err
    assert sorted(os.listdir(a)) == before  # no .hydra/, no log


# --- bounded work ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_bootstrap=1000000000", r"n_bootstrap: at most 10000 resamples, got 1000000000"),
        ("n_bootstrap=1", r"n_bootstrap: expected 0 \(no intervals\) or >= 2, got 1"),
        ("batch_size=100000", r"batch_size: at most 4096, got 100000"),
        ("encoder.image_size=100000", r"encoder.image_size=100000: a batch of 64 images needs"),
        ("encoder.image_size=0", r"encoder.image_size: expected an integer >= 1, got 0"),
    ],
)
def test_work_ceilings_fail_before_any_image(
    tmp_path: Path, override: str, message: str, no_images_read
) -> None:
    with pytest.raises(UsageError, match=message):
        compare(_cfg(tmp_path, f"out_dir={tmp_path / 'out'}", override))


def test_image_memory_arithmetic() -> None:
    gib = 2**30
    # reference: 64 images x 4096^2 pixels x (3 + 12 + 32) bytes, at least
    need = 64 * 4096**2 * 48
    assert guards.batch_bytes(4096, 64) == need
    guards.check_image_memory(4096, 64, available=need)  # fits exactly: no error
    with pytest.raises(UsageError, match=r"needs at least 48.0 GiB .* 24.0 GiB of memory is "
                       r"available; lower batch_size \(one image needs 0.8 GiB\)"):  # fmt: skip
        guards.check_image_memory(4096, 64, available=24 * gib)
    with pytest.raises(UsageError, match="lower encoder.image_size"):
        guards.check_image_memory(100_000, 1, available=24 * gib)
    guards.check_image_memory(None, 10**6, available=1)  # the model's own size is not checked


def test_large_n_bootstrap_is_announced(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert guards.check_work_bounds(999, 64) is None
    note = guards.check_work_bounds(5000, 64)
    assert note is not None and "n_bootstrap=5000" in note and "recomputed 5000 times" in note
