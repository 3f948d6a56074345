"""Every command in the code blocks of README.md and docs/*.md is checked or accounted for.

A ``semsim ...`` / ``python -m semsim...`` line goes through what the command line does before
it runs anything (Hydra's argument parser, :func:`semsim.cli.read_sources` for folders,
:func:`semsim.overrides.check_overrides`; ``pair-score``'s own parser; ``--help``), with
placeholders (``DIR_A``, ``/path/to/cifar10``, ``CKPT``...) replaced by files in a tmp folder. So a
README command with a stale option, a renamed group or a wrong type fails here. Nothing is run.

Any other command line (``make``, bench and doc scripts) must match :data:`COVERED_ELSEWHERE`,
which says where it is exercised; a new kind of command line fails the test until it is listed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from semsim.cli import COMMANDS, PAIR_SCORE_KEYS, main, read_sources
from semsim.overrides import check_overrides

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")))

#: command lines that are not semsim commands: (pattern, where they are exercised)
COVERED_ELSEWHERE: list[tuple[str, str]] = [
    (
        r"make (install|test|test-full|lint|format|smoke|docs|screenshots|dist)\b",
        "Makefile targets (checked to exist below); `make test` is what .ci/run runs in CI",
    ),
    (
        r"make run\b",
        "tests/test_cli.py::test_make_run_offline_without_data_says_make_run_data and "
        "::test_run_summary_reads_the_run_folder (its checks and summary: semsim.cli.check_make_run, "
        "summarize_run); the training it starts is run by hand (minutes)",
    ),
    (
        r"(PYTHONPATH=\S+ )?(\.venv/bin/)?python bench/\w+\.py\b",
        "bench/ scripts, run by hand for "
        "the README's measured numbers; tests/test_metrics_speed.py covers their kernels",
    ),
    (
        r"make numbers\b|(PYTHONPATH=\S+ )?(\.venv/bin/)?python docs/measured\.py\b",
        "tests/test_docs.py (the regions of every page against docs/generated/); the writers are "
        "bench scripts and docs/experiments.py",
    ),
    (
        r"(PYTHONPATH=\S+ )?(\.venv/bin/)?python docs/experiments\.py\b",
        "tests/test_docs.py::test_experiments_writer_reads_a_report (on a synthetic report.json)",
    ),
    (r"bench/gpu\.sh\b", "GPU bench script (needs a GPU; tests/test_gpu.py is its test half)"),
    (
        r"(PYTHONPATH=\S+ )?(\.venv/bin/)?python docs/screenshots\.py\b",
        "documentation script that regenerates docs/img (run by hand)",
    ),
    (r"less \S+", "shell: read a file"),
    (
        r"(\.venv/bin/)?pip install\b",
        "package installs: the extras they name are declared in pyproject.toml (not run here)",
    ),
]

#: placeholders in command lines -> what the check puts there (``{tmp}`` = the tmp folder)
FOLDER_PLACEHOLDER = re.compile(r"^(DIR_A|DIR_B|DIR|PATH(/\S*)?|/path/to/\S*|A|B)$")
FILE_PLACEHOLDER = re.compile(r"^(CKPT|IMAGE\d?|img\d\.jpg|RUN/\S*|\S*\.ckpt)$")
ARCHIVE_PLACEHOLDER = re.compile(r"^(A|B)\.(zip|tar|tar\.gz|tgz)$")  # files made in the tmp folder
SYNOPSIS = {"<encoder>": "effnet_lite0", "<source>": "synthetic", "NAME": "smoke"}


def _code_lines(text: str) -> list[str]:
    """Command lines of fenced code blocks: comments dropped, ``\\`` continuations joined."""
    lines: list[str] = []
    in_block, lang, pending = False, "", ""
    for raw in text.splitlines():
        if raw.startswith("```"):
            in_block, lang = not in_block, raw[3:].strip()
            continue
        if not in_block or lang not in ("", "bash", "sh", "console"):
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        words = shlex.split(line, comments=True)
        if words:
            lines.append(shlex.join(words))
    return lines


def _semsim_argv(words: list[str]) -> tuple[str, list[str]] | None:
    """``(command, arguments)`` of a semsim command line, or None for any other line."""
    while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value prefixes
        words = words[1:]
    if not words:
        return None
    prog = words[0].removeprefix(".venv/bin/")
    if prog == "semsim":
        if len(words) == 1 or words[1].startswith("-"):
            return "", words[1:]
        return words[1], words[2:]
    if prog in ("python", "python3") and len(words) > 2 and words[1] == "-m":
        module = words[2]
        if module == "semsim":
            return (words[3], words[4:]) if len(words) > 3 else ("", [])
        if module.startswith("semsim."):
            return module.removeprefix("semsim.").replace("_", "-"), words[3:]
    return None


def _fill(args: list[str], tmp: Path) -> list[str]:
    """Synopsis brackets opened, ``...`` dropped, placeholders replaced by tmp paths."""
    out: list[str] = []
    for arg in args:
        if arg in ("...", "[options]", "[KEY=VALUE", "...]"):
            continue
        if arg.startswith("[") and arg.endswith("]") and "=[" not in arg:
            arg = arg[1:-1]
        for k, v in SYNOPSIS.items():
            arg = arg.replace(k, v)
        key, sep, value = arg.rpartition("=") if "=" in arg else ("", "", arg)
        if ARCHIVE_PLACEHOLDER.match(value):
            value = str(tmp / value)
        elif FOLDER_PLACEHOLDER.match(value):
            value = str(tmp / ("B" if value in ("DIR_B", "B") or key == "b" else "A"))
        elif FILE_PLACEHOLDER.match(value):
            value = str(tmp / "file.bin")
        out.append(f"{key}{sep}{value}")
    return out


def _check(command: str, args: list[str], tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the command line checks before it runs anything (see the module docstring)."""
    if command == "" or "--help" in args or "-h" in args:
        assert main([command, *args] if command else ["--help"]) == 0
        capsys.readouterr()
        return
    assert command in COMMANDS, f"unknown command {command!r}"
    if COMMANDS[command][1] is None:  # pair-score: key=value arguments of its own
        from semsim.pair_score import parse_args

        assert set(parse_args(args)) <= set(PAIR_SCORE_KEYS)
        return
    from hydra._internal.utils import get_args_parser

    parsed = get_args_parser().parse_args(args)
    overrides = parsed.overrides or []
    if command == "compare":
        overrides = read_sources(overrides)
    check_overrides(COMMANDS[command][1], overrides)


def _all_lines() -> list[tuple[str, str]]:
    return [(doc, ln) for doc in DOCS for ln in _code_lines((ROOT / doc).read_text("utf-8"))]


def test_every_readme_command_is_checked_or_covered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for d in ("A", "B"):
        (tmp_path / d).mkdir()
    (tmp_path / "file.bin").write_bytes(b"")
    for name in ("A.zip", "B.zip", "A.tar", "B.tar", "A.tar.gz", "B.tar.gz", "A.tgz", "B.tgz"):
        (tmp_path / name).write_bytes(b"")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    checked, failures, unknown, seen = 0, [], [], set()
    for doc, line in _all_lines():
        if line in seen:  # the same line on two pages (README and docs/) is checked once
            continue
        seen.add(line)
        argv = _semsim_argv(shlex.split(line))
        if argv is None:
            if line.startswith("make "):
                target = line.split()[1]
                assert f"\n{target}:" in makefile, f"{doc}: no Makefile target {target!r}"
            if not any(re.match(p, line) for p, _ in COVERED_ELSEWHERE) and _looks_like_command(
                line
            ):
                unknown.append(f"{doc}: {line}")
            continue
        command, args = argv
        try:
            _check(command, _fill(args, tmp_path), tmp_path, capsys)
        except Exception as err:  # noqa: BLE001 - collect every failing line
            failures.append(f"{doc}: {line}\n    -> {type(err).__name__}: {err}")
        checked += 1
    assert not failures, "README commands that fail the CLI's checks:\n" + "\n".join(failures)
    assert not unknown, "command lines neither checked nor in COVERED_ELSEWHERE:\n" + "\n".join(
        unknown
    )
    assert checked >= 25  # the README's compare/train/eval/pair-score lines were all found


PROGRAMS = {"semsim", "python", "python3", "make", "less", "bash", "sh", "pip", "git", "cd"}


def _looks_like_command(line: str) -> bool:
    """A line that starts a program (a known one, or a path to a script), after ``VAR=value``
    prefixes; not a formula or sample output."""
    words = shlex.split(line)
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words = words[1:]
    return bool(words) and (words[0] in PROGRAMS or "/" in words[0])


def test_a_stale_option_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The check above fails for a README line with a typo (so it can fail)."""
    (tmp_path / "A").mkdir()
    for line in (
        "semsim compare DIR_A a.max_per_clas=5",
        "python -m semsim.train experiment=smok",
        "python -m semsim.eval experiment=cifake_cpu ckpt_pth=CKPT",
        "semsim compare a=cifake a.root=PATH a.kind=[REAL]",
    ):
        command, args = _semsim_argv(shlex.split(line)) or ("?", [])
        with pytest.raises(Exception):  # noqa: B017,PT011 - UsageError or ValueError
            _check(command, _fill(args, tmp_path), tmp_path, capsys)


def test_extraction_finds_the_commands() -> None:
    lines = [ln for _, ln in _all_lines()]
    # a continued line is joined, quotes kept as one word, comments dropped
    joined = next(ln for ln in lines if "b.kinds=[FAKE]" in ln and "matrix_scores=" in ln)
    assert joined.startswith("semsim compare a=cifake")
    assert not any("#" in ln for ln in lines)
    assert any(_semsim_argv(shlex.split(ln)) == ("pair-score", shlex.split(ln)[3:]) for ln in lines)


def test_readme_paths_are_placeholders() -> None:
    """No development-machine paths, no link to a file that is not in the repo, and the quick
    start leads with comparing two folders."""
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "../shared" not in readme
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README links {target}, which is not in the repo"
    quick = readme[readme.index("## Quick start") :]
    first_block = quick[quick.index("```bash") : quick.index("```", quick.index("```bash") + 3)]
    assert "semsim compare DIR_A DIR_B" in first_block and "report.md" in first_block
