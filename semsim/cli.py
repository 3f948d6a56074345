"""The ``semsim`` command: ``semsim compare DIR_A DIR_B``, ``semsim train``, ``eval``, ``pair-score``.

Every entry point goes through :func:`run_hydra`, which reads the command line before anything
heavy is imported: folder paths become ``a=folder a.root=PATH``; every override is checked against
the composed config (unknown key, unknown group choice, a value of the wrong type, no value), and
a mistake ends as ONE line ``error: ...`` naming the option, with the nearest valid name, and exit
status 2. Only then is the entry module (torch, Lightning, ...) imported and Hydra started.

Nothing here imports torch; help texts list what the discovery points hold (:mod:`semsim.catalog`:
registered sources, ``conf/`` groups).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from semsim.run_summary import summarize_run  # noqa: F401  (semsim.cli.summarize_run)
from semsim.utils import CONF_DIR, UsageError, did_you_mean

# command -> (entry module, config name, one-line description)
COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "compare": ("semsim.compare", "compare", "compare two image collections (no training)"),
    "train": ("semsim.train", "train", "train or fine-tune a model; similarity before/after"),
    "eval": ("semsim.eval", "eval", "test a trained checkpoint on a split it has not seen"),
    "pair-score": ("semsim.pair_score", None, "pair score 1 - |p(a) - p(b)| of two images"),
}
EXAMPLES = {
    "compare": [
        "semsim compare path/to/A path/to/B                # two image folders",
        "semsim compare a=cifar10 a.root=PATH a.max_per_class=200   # classes of A alone",
        "semsim compare DIR_A DIR_B encoder=dinov2_vits14 out_dir=out/",
    ],
    "train": [
        "semsim train experiment=smoke                     # tiny synthetic run, < 1 min, CPU",
        "semsim train experiment=cifar10_cpu data.root=PATH/cifar10",
    ],
    "eval": ["semsim eval experiment=cifake_cpu ckpt_path=CKPT data.root=PATH data.split=test"],
    "pair-score": ["semsim pair-score ckpt=CKPT a=IMAGE1 b=IMAGE2 [device=cpu]"],
}
PAIR_SCORE_KEYS = ("ckpt", "a", "b", "device")
# groups left out of help texts (internals, not choices a user makes)
HIDDEN_GROUPS = {"hydra", "paths", "extras"}


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on one line to stderr and exit with status 2."""
    print("error: " + " ".join(str(message).split()), file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------- help texts


def _conf(*parts: str) -> Path:
    return Path(CONF_DIR, *parts)


def _yaml_notes(path: Path) -> tuple[str, dict[str, tuple[str, str]]]:
    """First comment line of a config file, and ``key -> (default, first comment line above it)``
    for its top-level keys (read as text: cheap, and the comments are the documentation)."""
    head, notes, block = "", {}, []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            if not head and text and not text.startswith("@package"):
                head = text
            block.append(text)
        elif line and not line[0].isspace() and ":" in line and not line.startswith("-"):
            key, _, value = line.partition(":")
            value = value.split(" #")[0].strip()
            notes[key.strip()] = (value, next((b for b in block if b), ""))
            block = []
        elif not line.strip():
            block = []
    return head, notes


def _short(text: str, width: int = 72) -> str:
    """The first sentence of ``text``, cut to ``width`` characters."""
    text = text.split(". ")[0].rstrip(".:;,(")
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def group_options(group: str) -> list[str]:
    """The choices of config group ``group``: its ``conf/<group>/*.yaml`` files and the configs
    the registries generate (every source is ``a=``, ``b=`` and ``data=``), as Hydra sees them."""
    from semsim.catalog import group_choices

    return group_choices(group)


def _choice_note(group: str, name: str, sources: dict[str, str]) -> str:
    """One line about choice ``name`` of ``group``: a source's docstring (``sources``, from
    :func:`semsim.catalog.sources`), else its yaml's first sentence."""
    from semsim.catalog import yaml_head

    if group in ("collection", "data") and name in sources:
        return sources[name]
    return yaml_head(_conf(group, f"{name}.yaml"))


def _defaults_groups(config_name: str) -> list[tuple[str, str]]:
    """``(group, default choice)`` of a primary config's defaults list, in order."""
    from omegaconf import OmegaConf

    out = []
    for item in OmegaConf.load(_conf(f"{config_name}.yaml")).get("defaults", []):
        if isinstance(item, str) or item is None:
            continue
        for group, choice in item.items():
            group = str(group).removeprefix("override ").lstrip("/")
            if group.split("/")[0] not in HIDDEN_GROUPS:
                out.append((group, str(choice)))
    return out


def help_text(command: str | None) -> str:
    """Usage, choices, main options and examples of ``semsim [COMMAND]``, read from ``conf/``."""
    if command is None:
        lines = ["usage: semsim COMMAND [ARGS...]", "", "commands:"]
        lines += [f"  {name:<11} {desc}" for name, (_, _, desc) in COMMANDS.items()]
        lines += ["", "`semsim COMMAND --help` shows its options; `semsim --version` the version."]
        lines += ["Examples:"]
        lines += [f"  {EXAMPLES[c][0]}" for c in COMMANDS]
        return "\n".join(lines)
    module, config_name, desc = COMMANDS[command]
    if config_name is None:
        return "\n".join(
            [f"usage: {EXAMPLES[command][0]}", "", desc + ".",
             "p = the checkpoint's probability of FAKE; prints one JSON object."]
        )  # fmt: skip
    usage = "semsim compare [DIR_A [DIR_B]] [KEY=VALUE ...]" if command == "compare" else (
        f"semsim {command} [KEY=VALUE ...]"
    )  # fmt: skip
    lines = [f"usage: {usage}", f"       (or: python -m {module} ...)", "", desc + "."]
    if command == "compare":
        lines += [
            "A path given alone, or as a=PATH / b=PATH, is read as a=folder a.root=PATH "
            "(a .zip/.tar/.tar.gz file: a=archive a.root=PATH).",
            "Writes report.md (read this), report.json and a CSV + PNG per matrix to out_dir.",
        ]
    groups = dict(_defaults_groups(config_name))
    from semsim.catalog import sources

    source_notes = sources()
    for group, default in groups.items():
        if group == "b" and "a" in groups:
            continue
        source_group = "collection" if group == "a" else group
        label = f"{group}=" if group != "a" else "a=, b= (sources)"
        defaults = f"{default}".replace("None", "none")
        if group == "a" and "b" in groups:
            defaults = f"a={default}, b={groups['b']}".replace("None", "none")
        lines += ["", f"{label}  (default: {defaults})"]
        for name in group_options(source_group):
            note = _choice_note(source_group, name, source_notes).replace("`", "")
            lines.append(f"  {name:<16} {_short(note)}")
        if group == "a":
            from semsim.data.sources.registry import SOURCES

            names = inspect.signature(SOURCES["folder"]).parameters
            lines.append(f"  options: {', '.join('a.' + k for k in names)} (b. the same)")
    _, notes = _yaml_notes(_conf(f"{config_name}.yaml"))
    lines += ["", "main options (default):"]
    for key, (value, note) in notes.items():
        if key in ("defaults", "hydra"):
            continue
        lines.append(f"  {key}={value}" + (f"  # {_short(note, 60)}" if note else ""))
        if key == "scores":
            lines.append("    (the scores and what they mean: python -m semsim.catalog scores)")
    lines += ["", "examples:"] + [f"  {e}" for e in EXAMPLES[command]]
    lines += [
        "",
        "Every option is a Hydra override (conf/); bad input: one line `error: ...`, exit 2.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- reading the line


def _quote(path: str) -> str:
    """A path as a Hydra override value (quoted unless it is plain)."""
    if all(c.isalnum() or c in "_./~-:" for c in path):
        return path
    return "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _is_path(value: str) -> bool:
    return "/" in value or os.path.exists(os.path.expanduser(value))


def read_sources(overrides: Sequence[str]) -> list[str]:
    """``DIR_A [DIR_B]`` and ``a=PATH``/``b=PATH`` become ``a=folder a.root=PATH`` (and ``b``);
    a zip or tar file becomes ``a=archive a.root=PATH``."""
    from semsim.data.sources.registry import discover

    sources = set(discover())
    out: list[str] = []
    positional: list[str] = []
    for arg in overrides:
        key, sep, value = arg.partition("=")
        if sep and key in ("a", "b") and value not in sources and value != "null":
            if _is_path(value):
                out += [f"{key}={_check_folder(value, key)}", f"{key}.root={_quote(value)}"]
                continue
        elif not sep and not (arg.startswith("~") and not _is_path(arg)):
            if "/" not in arg and "." in arg and not os.path.exists(arg):
                raise UsageError(f"`{arg}` has no value: write {arg}=VALUE")
            positional.append(arg)
            continue
        out.append(arg)
    if len(positional) > 2:
        raise UsageError(f"at most two folders (A and B), got {len(positional)}: {positional}")
    for which, path in zip("ab", positional, strict=False):
        if any(o.split("=")[0].lstrip("+~") == which for o in out):
            raise UsageError(f"folder {path} given as {which.upper()}, but {which}= is set too")
        source = _check_folder(path, which)
        out = [f"{which}={source}", f"{which}.root={_quote(path)}", *out]
    return out


def _check_folder(path: str, which: str) -> str:
    """The source reading ``path``: ``folder``, or ``archive`` for a zip or tar file."""
    from semsim.data.suffixes import ARCHIVE_SUFFIXES, is_archive_name

    full = Path(path).expanduser()
    archive = is_archive_name(path)
    if not full.exists():
        raise UsageError(f"{which}: no such {'archive' if archive else 'folder'}: {path}")
    if archive and full.is_file():
        return "archive"
    if not full.is_dir():
        raise UsageError(
            f"{which}: {path} is a file, not a folder of images nor an archive "
            f"({', '.join(ARCHIVE_SUFFIXES)})"
        )
    return "folder"


def run_hydra(command: str, argv: Sequence[str] | None = None, task: Callable | None = None) -> Any:
    """Check ``argv`` (default ``sys.argv[1:]``), then run ``task`` under Hydra.

    Args:
        command: ``compare``, ``train`` or ``eval`` (selects the config and the entry module).
        argv: the arguments after the command.
        task: the Hydra task function; default: the entry module's ``task`` (imported only
            after the command line passed its checks, so a typo costs no torch import).
    """
    from hydra._internal.utils import _run_hydra, get_args_parser

    from semsim import guards
    from semsim.overrides import check_overrides

    module, config_name, _ = COMMANDS[command]
    assert config_name is not None
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(help_text(command))
        return None
    parser = get_args_parser()
    parser.prog = f"semsim {command}"
    args = parser.parse_args(argv)
    advanced = (
        args.config_name, args.config_path, args.config_dir, args.experimental_rerun, args.info,
    )  # fmt: skip
    try:
        if command == "compare":
            args.overrides = read_sources(args.overrides or [])
        if not any(x is not None for x in advanced) and not args.shell_completion:
            cfg = check_overrides(config_name, args.overrides or [])
            if command == "compare":
                missing_folder(cfg)
                args.overrides = guards.run_dir_is_out_dir(args.overrides or [], cfg)
    except UsageError as err:
        if os.environ.get("SEMSIM_DEBUG"):
            raise
        fail(str(err))
    if task is None:
        task = importlib.import_module(module).task
    return _run_hydra(
        args=args, args_parser=parser, task_function=task, config_path=CONF_DIR,
        config_name=config_name,
    )  # fmt: skip


def missing_folder(cfg: Any) -> None:
    """Fail before Hydra's run (~1 s) when a folder source's root does not exist: the same
    one-line error the source gives (``a: folder: path does not exist: /no/A``)."""
    from pathlib import Path

    from semsim.data.sources._common import missing_path_error

    choices = cfg.hydra.runtime.choices
    for side in ("a", "b"):
        root = cfg.get(side, {}).get("root") if side in cfg else None
        if choices.get(side) == "folder" and root and not os.path.exists(root):
            raise UsageError(f"{side}: {missing_path_error('folder', Path(str(root)))}")


# ---------------------------------------------------------------------------- make run

DATA_HELP = {
    "cifar10": "torchvision's cifar-10-batches-py/ or train|test/<class>/*.jpg; "
    "https://www.cs.toronto.edu/~kriz/cifar.html",
    "cifake": "train|test/REAL|FAKE/*.jpg; "
    "https://www.kaggle.com/datasets/birdy654/cifake-real-and-ai-generated-synthetic-images",
}


def _online(host: str = "www.cs.toronto.edu", port: int = 443, timeout: float = 5.0) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_make_run(experiment: str, data: str | None = None) -> None:
    """``make run`` without ``DATA``: fail in one line, before anything is created, when the
    experiment's dataset is neither under ``$SEMSIM_DATA`` / ``./data`` nor downloadable."""
    from semsim.overrides import check_overrides

    cfg = check_overrides("train", [f"experiment={experiment}"])
    from semsim.data.sources.registry import source_name

    source = source_name(cfg.data)
    if data or source not in DATA_HELP:
        return
    root = Path(os.environ.get("SEMSIM_DATA", "data")) / source
    if root.is_dir() and any(root.iterdir()):
        return
    if source == "cifar10" and cfg.data.get("download") and _online():
        return
    fail(
        f"no {source} data under {root} and no way to download it here: "
        f"make run DATA=PATH ({DATA_HELP[source]})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The ``semsim`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--version"], ["-V"]):
        from semsim import __version__

        print(f"semsim {__version__} (configs: {CONF_DIR})")
        return 0
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(help_text(None))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        fail(f"unknown command `{command}`{did_you_mean(command, COMMANDS)} (semsim --help)")
    if COMMANDS[command][1] is None:
        if any(a in ("-h", "--help") for a in rest):
            print(help_text(command))
            return 0
        for arg in rest:  # typos before the (torch) import
            key, sep, _ = arg.partition("=")
            if not sep or key not in PAIR_SCORE_KEYS:
                fail(
                    f"unknown argument `{arg}`{did_you_mean(key, PAIR_SCORE_KEYS)} "
                    f"(usage: {EXAMPLES[command][0]})"
                )
        return int(importlib.import_module(COMMANDS[command][0]).main(rest) or 0)
    run_hydra(command, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
