"""The start-up path stays light: reading the first image, and every command-line error that
can be answered from the options and the folders, import no torch (issue #16: < 2 s of CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "torchmetrics", "lightning", "timm", "matplotlib", "wandb")


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _heavy_report() -> str:
    return (
        "import sys\n"
        f"print('heavy:' + (','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none'))\n"
    )


def test_first_image_imports_no_torch(tmp_path: Path) -> None:
    """The folder source's first image is read with no torch, Lightning, timm, matplotlib or W&B."""
    for cls in ("cat", "dog"):
        (tmp_path / "A" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (20, 12), (40 * i, 90, 200)).save(tmp_path / "A" / cls / f"{i}.png")
    code = (
        "import semsim.cli, semsim.overrides, semsim.data\n"
        "from semsim.compare import build_collection\n"
        "from semsim.overrides import check_overrides\n"
        f"cfg = check_overrides('compare', ['a=folder', 'a.root={tmp_path / 'A'}'])\n"
        "coll = build_collection(cfg.a, 'a')\n"
        "img = coll.load_image(0)\n"
        "print('image:', len(coll), coll.is_labelled, img.size)\n" + _heavy_report()
    )
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == ["image: 4 True (20, 12)", "heavy:none"], proc.stdout + proc.stderr


def test_bad_folder_errors_import_no_torch(tmp_path: Path) -> None:
    """Errors only the collections can show (a missing folder, a folder without images) come
    from the full Hydra run of `semsim compare`, still before torch is imported."""
    (tmp_path / "A").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "A" / "x.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    cases = {
        "a=folder a.root=/no/such/A": "error: a: folder: path does not exist: /no/such/A",
        f"{tmp_path / 'A'} /no/such/B": "error: b: no such folder: /no/such/B",
        f"a=folder a.root={tmp_path / 'A'} b=folder b.root={tmp_path / 'empty'}": (
            f"error: b: folder: no images under {tmp_path / 'empty'}"
        ),
    }
    for args, expected in cases.items():
        code = (
            "from semsim.cli import main\n"
            f"try:\n    main(['compare', *{args.split()!r}, 'out_dir={tmp_path / 'out'}'])\n"
            "except SystemExit as e:\n    print('exit:', e.code)\n" + _heavy_report()
        )
        proc = _run(code, tmp_path)
        assert proc.stdout.splitlines() == ["exit: 2", "heavy:none"], (
            args, proc.stdout, proc.stderr
        )  # fmt: skip
        assert proc.stderr.strip().startswith(expected), (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
