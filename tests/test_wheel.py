"""The wheel is the product: ``python -m build`` makes an sdist and a wheel holding everything the
commands need (every config, the data tables), and the wheel, installed non-editable into a fresh
environment, runs ``semsim compare`` and ``semsim train`` from an unrelated folder.

The build runs once per session (from a copy of the tracked and untracked-not-ignored files, so
the checkout is left untouched); the file-list test is fast, the install test is ``slow``.

The fresh environment: ``python -m venv --without-pip``, a ``.pth`` file putting the shared venv's
site-packages (torch, timm, ...) AFTER its own, then ``pip --python NEW install --no-deps
--no-index WHEEL``: semsim comes from the wheel, the third-party packages are not reinstalled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import CONF_DIR, ROOT


def _source_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"wheel": PATH, "sdist": PATH}`` built by ``python -m build`` (the wheel from the sdist)."""
    inside = (
        subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True)
        if shutil.which("git")
        else None
    )
    if inside is None or inside.returncode != 0:
        pytest.skip("a git checkout is needed to list the files to build from")
    src = tmp_path_factory.mktemp("src")
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (wheel,) = out.glob("semsim-*.whl")
    (sdist,) = out.glob("semsim-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_holds_every_config_and_data_table(dists: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    configs = {f"semsim/conf/{p.relative_to(CONF_DIR)}" for p in CONF_DIR.rglob("*.yaml")}
    assert len(configs) > 30 and configs <= names, sorted(configs - names)
    tables = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "semsim").rglob("*")
        if p.suffix in (".json", ".csv", ".txt", ".html", ".jinja", ".j2") and p.is_file()
    }
    assert tables and tables <= names, sorted(tables - names)
    modules = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "semsim").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= names, sorted(modules - names)
    assert "semsim/py.typed" in names
    assert not any(n.startswith(("tests/", "conf/", "bench/")) for n in names)

    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    wheel = zipfile.ZipFile(dists["wheel"])
    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "semsim = semsim.cli:main" in entry_points
    meta = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    from semsim import __version__

    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "MIT"
    assert {"wandb", "hf", "onnx", "docs", "dev"} <= set(meta.get_all("Provides-Extra"))
    assert any(
        c.startswith("Programming Language :: Python :: 3") for c in meta.get_all("Classifier")
    )
    assert meta.get_all("Project-URL") and meta["Requires-Python"] == ">=3.10"
    assert meta.get_payload().lstrip().startswith("# semsim")  # the README is the description
    # wandb is an extra, not a dependency of the plain install
    plain = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert not any(r.startswith("wandb") for r in plain) and any(
        r.startswith("torch") for r in plain
    )


def test_the_sdist_holds_the_configs_and_the_build_hook(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = {str(p.relative_to(ROOT)) for p in CONF_DIR.rglob("*.yaml")}
    assert expected <= names, sorted(expected - names)
    assert {"setup.py", "pyproject.toml", "README.md", "LICENSE", "semsim/cli.py"} <= names


def _fresh_env(root: Path, wheel: Path) -> Path:
    """A venv with no semsim but the wheel's, reaching the shared venv's packages; its bin/."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    py = root / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    shared = sysconfig.get_paths()["purelib"]
    # a plain path line: the shared dir's own .pth files (the editable semsim) are NOT processed
    Path(site, "shared_venv.pth").write_text(shared + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--no-index", "--ignore-installed", str(wheel)],  # never touch the shared venv's semsim
        check=True, capture_output=True,
    )  # fmt: skip
    return root / "bin"


def _images(folder: Path, seed: int, n: int = 12) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls in ("cat", "dog"):
        (folder / cls).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / cls / f"{i}.png")


@pytest.mark.slow
def test_the_installed_wheel_runs_compare_and_train_from_elsewhere(
    dists: dict[str, Path], tmp_path: Path
) -> None:
    bin_dir = _fresh_env(tmp_path / "env", dists["wheel"])
    work = tmp_path / "elsewhere"
    _images(work / "A", 0)
    _images(work / "B", 1)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),  # no user cache of weights or features
    }

    def semsim(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(bin_dir / "semsim"), *args], cwd=work, env=env, capture_output=True, text=True,
            timeout=900,
        )  # fmt: skip
        if check:
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return run

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import semsim, semsim.utils as u; "
         "print(semsim.__file__); print(u.CONF_DIR)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    installed = Path(where[0]).parent
    assert str(tmp_path / "env") in str(installed) and not installed.is_relative_to(ROOT)
    assert Path(where[1]) == installed / "conf"

    from semsim import __version__

    assert semsim("--version").stdout.startswith(f"semsim {__version__}")
    # the overrides checker reads the packaged configs: a typo is one line, exit 2
    typo = semsim("compare", "A", "B", "a.max_per_clas=3", check=False)
    assert typo.returncode == 2 and "did you mean `a.max_per_class`?" in typo.stderr
    assert "folder" in semsim("compare", "--help").stdout

    semsim("compare", "A", "B", "out_dir=out", "encoder.image_size=64", "num_workers=0")
    report = (work / "out" / "report.json").read_text()
    assert '"scores"' in report and (work / "out" / "report.md").is_file()

    run = semsim("train", "experiment=smoke")
    assert "test/acc" in run.stdout + run.stderr  # the run summary
    assert list((work / "logs").rglob("*.ckpt")) and list((work / "logs").rglob("metrics.csv"))
