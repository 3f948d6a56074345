"""The `semsim` command: every command-line mistake is one line `error: ...` naming the option,
with the nearest valid name, exit status 2; help lists what conf/ holds; folders as a=folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from semsim.cli import main, read_sources, summarize_run
from semsim.overrides import check_overrides
from semsim.utils import UsageError
from tests.conftest import CONF_DIR, ROOT


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `semsim ARGV` in-process; assert exit 2 and ONE stderr line; return it."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert "Traceback" not in err[0]
    assert "+" not in err[0].split("error: ", 1)[1].split("`")[0]  # no "append with +x" advice
    return err[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # unknown key / typo in an option, at every depth, with the nearest valid name
        (["compare", "outdir=x"], "unknown option `outdir`; did you mean `out_dir`?"),
        (["compare", "a.max_per_clas=50"], "did you mean `a.max_per_class`?"),
        (["compare", "max_per_class=50"], "did you mean `a.max_per_class`?"),
        (["compare", "encoder.image_sise=64"], "did you mean `encoder.image_size`?"),
        (["train", "trainer.max_epoch=1"], "did you mean `trainer.max_epochs`?"),
        # typo in a group name or a group choice
        (
            ["compare", "encoderr=effnet_lite0"],
            "unknown option `encoderr`; did you mean `encoder`?",
        ),
        (["compare", "a=fodler"], "a=fodler: no such choice for `a`; did you mean `folder`?"),
        (["compare", "encoder=dinov2"], "did you mean `dinov2_vits14`?"),
        (["train", "experiment=smok"], "did you mean `smoke`?"),
        (["compare", "data=cifar10"], "`data` is not an option of `compare`"),
        (["compare", "a=folder,fodler"], "a=fodler: no such choice for `a`"),  # a sweep's 2nd
        # a value of the wrong type
        (["compare", "seed=abc"], "seed: expected an integer, got `abc`"),
        (["compare", "batch_size=1.5"], "batch_size: expected an integer"),
        (["compare", "noise_floor=maybe"], "noise_floor: expected true or false"),
        (["compare", "scores=fd"], "scores"),  # default null: checked by compare() itself
        (["compare", "seed=[1"], "cannot read `seed=[1`"),
        # a missing value
        (["compare", "out_dir="], "`out_dir=` has no value"),
        (["compare", "a.root"], "`a.root` has no value: write a.root=VALUE"),
        (["compare", "a=folder"], "`a.root` has no value"),
        (["eval", "experiment=smoke"], "`ckpt_path` has no value"),
        (["compare", "b.root=/x"], "b.root: `b` is not set; choose it first (e.g. b=folder"),
        # commands and folders
        (["comapre"], "unknown command `comapre`; did you mean `compare`?"),
        (["pair-score", "ckp=x.ckpt", "a=1.png", "b=2.png"], "did you mean `ckpt`?"),
        (["compare", "/no/such/folder"], "a: no such folder: /no/such/folder"),
        (["compare", "b=/no/such/folder"], "b: no such folder: /no/such/folder"),
    ],
)
def test_mistakes_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert expected in _error(capsys, *argv)


def test_three_folders_and_a_file_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for d in "xyz":
        (tmp_path / d).mkdir()
    assert "at most two folders" in _error(capsys, "compare", *(str(tmp_path / d) for d in "xyz"))
    (tmp_path / "f.png").write_bytes(b"")
    assert "is a file, not a folder" in _error(capsys, "compare", str(tmp_path / "f.png"))


def test_folders_become_folder_sources(tmp_path: Path) -> None:
    a, b = tmp_path / "A dir", tmp_path / "B,=dir"
    a.mkdir()
    b.mkdir()
    args = read_sources([str(a), f"b={b}", "a.max_per_class=5"])
    assert args[:2] == ["a=folder", f"a.root='{a}'"]
    cfg = check_overrides("compare", args)
    assert cfg.a.root == str(a) and cfg.b.root == str(b)
    assert cfg.a._target_.endswith(".folder") and cfg.b._target_.endswith(".folder")
    assert cfg.a.max_per_class == 5
    # a source name stays a source name; null stays null
    assert read_sources(["a=cifar10", "b=null"]) == ["a=cifar10", "b=null"]


def test_valid_lines_pass_the_check(tmp_path: Path) -> None:
    cfg = check_overrides(
        "compare", ["a=synthetic", "b=synthetic", "b.seed=1", "seed=3", "scores=[fd,kid]"]
    )
    assert cfg.seed == 3 and list(cfg.scores) == ["fd", "kid"] and cfg.b.seed == 1
    cfg = check_overrides("train", ["experiment=smoke", "trainer.max_epochs=1", "seed=1,2"])
    assert cfg.trainer.max_epochs == 1 and cfg.seed == 1  # a sweep is checked on its values
    with pytest.raises(UsageError, match="seed: expected an integer, got `x`"):
        check_overrides("train", ["experiment=smoke", "seed=1,x"])


def test_help_lists_sources_encoders_options_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert top.startswith("usage: semsim COMMAND")
    for command in ("compare", "train", "eval", "pair-score"):
        assert f"  {command} " in top
    main(["compare", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: semsim compare [DIR_A [DIR_B]]")
    for group in ("collection", "encoder"):
        for cfg in (CONF_DIR / group).glob("*.yaml"):
            assert f"\n  {cfg.stem} " in out, cfg.stem
    for option in ("out_dir=", "scores=", "n_bootstrap=", "cache_dir=", "a.max_per_class"):
        assert option in out
    assert "semsim compare path/to/A path/to/B" in out
    assert "hparams_search" not in out and "experiment=" not in out  # training groups stay out
    main(["train", "--help"])
    out = capsys.readouterr().out
    assert "experiment=" in out and "smoke" in out and "semsim train experiment=smoke" in out


def test_a_correct_command_line_costs_two_compositions(monkeypatch, tmp_path) -> None:
    """The check composes the group choices, then every override; the config without overrides
    (what names a wrong group) only when Hydra refuses the choices."""
    import semsim.overrides as ov

    calls: list[list[str]] = []
    compose = ov._compose
    monkeypatch.setattr(ov, "_compose", lambda *a: calls.append(list(a[2])) or compose(*a))
    ov.check_overrides("compare", ["a=folder", f"a.root={tmp_path}", "seed=3"])
    assert calls == [["a=folder"], ["a=folder", f"a.root={tmp_path}", "seed=3"]]
    calls.clear()
    cfg = ov.check_overrides("compare", ["encoder=inception_fid"])  # choices alone: one
    assert calls == [["encoder=inception_fid"]] and cfg.encoder.name == "inception_fid"
    calls.clear()
    with pytest.raises(ov.UsageError, match="no such choice"):
        ov.check_overrides("compare", ["a=fodler"])
    assert calls == [["a=fodler"], []]


def test_typo_costs_no_heavy_import() -> None:
    """A typo is reported before torch, Lightning, W&B or matplotlib are imported."""
    code = (
        "import sys\n"
        "from semsim.cli import main\n"
        "try:\n    main(['compare', 'a.max_per_clas=5'])\n"
        "except SystemExit as e:\n    assert e.code == 2\n"
        "heavy = [m for m in ('torch', 'lightning', 'wandb', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == "none", proc.stdout + proc.stderr
    assert proc.stderr.strip() == (
        "error: unknown option `a.max_per_clas`; did you mean `a.max_per_class`?"
    )


def test_entry_modules_import_light() -> None:
    heavy = "('torch', 'lightning', 'wandb', 'matplotlib')"
    code = (
        "import sys, semsim, semsim.cli, semsim.overrides, semsim.compare, semsim.utils\n"
        f"print(','.join(m for m in {heavy} if m in sys.modules) or 'none')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == "none", proc.stdout + proc.stderr


def test_module_form_keeps_working_and_exits_2(tmp_path: Path) -> None:
    """`python -m semsim.compare` and `python -m semsim` give the same one-line error."""
    from semsim.data.sources.registry import SOURCES

    for cmd in (["-m", "semsim.compare"], ["-m", "semsim", "compare"]):
        proc = subprocess.run(
            [sys.executable, *cmd, "a=fodler"], cwd=tmp_path, capture_output=True, text=True,
            timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            "error: a=fodler: no such choice for `a`; did you mean `folder`? "
            f"(choose one of: {', '.join(sorted(SOURCES))})"  # every registered source
        ]
        assert not (tmp_path / "outputs").exists()  # nothing left behind


def _compare_cfg(tmp_path: Path, *overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            "compare",
            overrides=[
                "a.n_per_class=4", f"out_dir={tmp_path / 'out'}",
                f"cache_dir={tmp_path / 'cache'}", *overrides,
            ],
        )  # fmt: skip


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("batch_size=0", "batch_size: expected an integer >= 1, got 0"),
        ("num_workers=-1", "num_workers: expected an integer >= 0 or auto, got `-1`"),
        ("num_workers=many", "num_workers: expected an integer >= 0 or auto, got `many`"),
        ("device=cuda:99", "device=cuda:99"),
        ("device=gpu", "device=gpu: unknown device"),
        ("seed=abc", "seed: expected an integer, got `abc`"),
        ("out_dir={file}/out", "out_dir: "),
        ("cache_dir={file}/cache", "cache_dir: "),
    ],
)
def test_compare_options_are_checked_before_any_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, override: str, expected: str
) -> None:
    """With a bad option nothing is read or looked up in the cache (warm or not)."""
    import semsim.features
    from semsim.compare import compare

    def no_extraction(*args, **kwargs):
        raise AssertionError("extraction (and its cache lookup) ran before the options check")

    monkeypatch.setattr(semsim.features, "extract_features", no_extraction)
    file = tmp_path / "a_file"
    file.write_text("")
    with pytest.raises(ValueError) as exc:
        compare(_compare_cfg(tmp_path, override.format(file=file)))
    assert expected in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_device_cuda_without_a_gpu_is_named(tmp_path: Path) -> None:
    import torch

    from semsim.utils import check_device

    if torch.cuda.is_available():
        check_device("cuda")  # present: accepted
    else:
        with pytest.raises(UsageError, match="device=cuda: no CUDA GPU on this machine"):
            check_device("cuda")


def test_run_summary_reads_the_run_folder(tmp_path: Path) -> None:
    stage = tmp_path / "similarity" / "test"
    stage.mkdir(parents=True)
    report = {
        "similarity": None,
        "matrices": {
            "prototype_cosine": {
                "labels": ["cat", "dog", "ship"],
                "values": [[1, 0.9, 0.2], [0.9, 1, 0.4], [0.2, 0.4, 1]],
                "higher_is_more_similar": True,
            }
        },
    }
    (stage / "report.json").write_text(json.dumps(report))
    lines = summarize_run(tmp_path, {"test/acc": 0.7812, "val/acc": 0.5, "test/loss": 0.61})
    assert lines == [
        "test/acc = 78.1%",
        "test/loss = 0.61",
        # (0.9 + 0.2 + 0.4) / 3 = 0.5
        "similarity/test: prototype_cosine: mean off-diagonal 0.500, most similar cat/dog 0.900",
        f"run folder: {tmp_path}",
    ]


def test_compare_two_folders_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The quick start's `semsim compare DIR_A DIR_B` (tiny images, small encoder input)."""
    import numpy as np

    rng = np.random.default_rng(0)
    for side, shift in (("A", 0), ("B", 40)):
        (tmp_path / side).mkdir()
        for i in range(8):
            pixels = np.clip(rng.normal(100 + shift, 30, (16, 16, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(tmp_path / side / f"{i}.png")
    GlobalHydra.instance().clear()
    main(
        [
            "compare", str(tmp_path / "A"), str(tmp_path / "B"), f"out_dir={tmp_path / 'out'}",
            "cache_dir=null", "n_bootstrap=0", "noise_floor=false", "encoder.image_size=32",
            "scores=[prototype_cosine,fd]", "progress=false", f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )  # fmt: skip
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["inputs"]["a"]["source"]["root"] == str(tmp_path / "A")
    assert data["inputs"]["b"]["source"]["root"] == str(tmp_path / "B")
    assert (tmp_path / "out" / "report.md").is_file()


def test_make_run_offline_without_data_says_make_run_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make run` without DATA, offline (the suite refuses connections): one line, nothing made."""
    from semsim.cli import check_make_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEMSIM_DATA", raising=False)
    with pytest.raises(SystemExit) as exc:
        check_make_run("cifar10_cpu")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make run DATA=PATH" in err[0] and "data/cifar10" in err[0]
    assert list(tmp_path.iterdir()) == []  # no data/cifar10, no run folder
    check_make_run("cifar10_cpu", str(tmp_path))  # DATA given: the run itself checks it
    check_make_run("smoke")  # synthetic data: nothing to check


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Quick start")
    section = text[start : text.index("\n## ", start + 1)]  # up to the next section
    blocks = section.split("```bash\n")[1:]
    lines = [ln.split("#")[0].strip() for b in blocks for ln in b.split("```")[0].splitlines()]
    return [ln for ln in lines if ln]


def test_readme_quick_start_commands_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every quick-start command parses and composes (make targets exist; placeholders filled)."""
    from semsim.pair_score import parse_args

    makefile = (ROOT / "Makefile").read_text()
    for d in ("A", "B"):
        (tmp_path / d).mkdir()
    fill = {
        "[DIR_B]": str(tmp_path / "B"), "[KEY=VALUE ...]": "", "DIR_A": str(tmp_path / "A"), "DIR_B": str(tmp_path / "B"), "experiment=NAME": "experiment=smoke",
        "CKPT": str(tmp_path / "x.ckpt"), "IMAGE": str(tmp_path / "x.png"), "...": "",
    }  # fmt: skip
    commands = _quick_start_commands()
    assert any(c.startswith(".venv/bin/semsim compare DIR_A DIR_B") for c in commands)
    for command in commands:
        if command.startswith("make "):
            assert f"\n{command.split()[1]}:" in makefile, command
            continue
        if not command.startswith(".venv/bin/semsim "):  # (the others: test_readme_commands.py)
            continue
        for placeholder, value in fill.items():
            command = command.replace(placeholder, value)
        args = command.split()[1:]
        if args[-1] == "--help":
            assert main(args) == 0
        elif args[0] == "pair-score":
            assert parse_args(args[1:])["ckpt"] == fill["CKPT"]
        elif args[0] == "compare":
            check_overrides("compare", read_sources(args[1:]))
        else:
            check_overrides(args[0], args[1:])
    capsys.readouterr()
    readme = (ROOT / "README.md").read_text()
    assert "](DESIGN.md" not in readme and "(../shared" not in readme


def test_missing_folder_fails_before_hydra_runs(capsys) -> None:
    """A folder source whose root does not exist is answered from the checked options, with the
    source's own one-line error, before Hydra's run (the task is never called)."""
    from semsim.cli import run_hydra

    def task(cfg):  # noqa: ANN001, ANN202
        raise AssertionError("the task must not run")

    for argv, side in (
        (["a=folder", "a.root=/no/such/A"], "a"),
        (["a=folder", "a.root=/", "b=folder", "b.root=/no/such/B"], "b"),
    ):
        with pytest.raises(SystemExit) as exc:
            run_hydra("compare", argv, task=task)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err == f"error: {side}: folder: path does not exist: /no/such/{side.upper()}"
