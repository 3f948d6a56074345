"""Guards that run before any image is read: writable output folders, an output folder inside an
input, bounds on the options that scale work, and the memory one batch needs.

Everything here is cheap and imports no torch, so a bad option costs seconds, not a computation.
Each guard raises :class:`~semsim.utils.UsageError` (a ValueError: ``error: ...``, exit 2 on the
command line) naming the option.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from semsim.utils import UsageError

MAX_BOOTSTRAP = 10_000
"""Ceiling of ``n_bootstrap``: a 95% interval's ends are stable to ~1% well before this."""

ANNOUNCE_BOOTSTRAP = 1_000
"""From this many resamples on, the work is announced on the console before it starts."""

MAX_BATCH_SIZE = 4_096
"""Ceiling of ``batch_size`` (larger batches do not embed faster; they only need more memory)."""

BYTES_PER_PIXEL = 48
"""Lower bound of the memory one input pixel of a batch needs while it is embedded: the decoded
RGB bytes (3), the float32 input tensor (12) and the first convolution's 32 float32 channels at
half resolution (32). Real networks need more, so the check below only refuses sure failures."""


def _reason(error: OSError) -> str:
    return error.strerror or " ".join(str(error).split()) or type(error).__name__


def probe_dir(path: str | os.PathLike[str], option: str, fix: str = "") -> Path:
    """Create ``path`` (with its missing parents), write a file in it and remove both again.

    A real write, not ``os.access`` (which says yes to root for ``/proc/x``): a folder that would
    fail after the computation fails here, naming the option.

    Raises:
        UsageError: ``<option>: cannot create|cannot write in ... (<reason>) (<fix>)``.
    """
    full = Path(path).expanduser()
    hint = f" ({fix})" if fix else f" (set {option}=DIR)"
    if full.exists() and not full.is_dir():
        raise UsageError(f"{option}: {full} exists and is not a folder{hint}")
    created: list[Path] = []
    probe = full
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option}: {full} cannot be a folder: {probe} is a file{hint}")
    try:
        try:
            full.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(
                f"{option}: cannot create folder {full} ({_reason(e)}){hint}"
            ) from None
        try:
            fd, tmp = tempfile.mkstemp(dir=full, prefix=".semsim-probe-")
            try:
                os.write(fd, b"semsim")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(tmp)
        except OSError as e:
            raise UsageError(f"{option}: cannot write in {full} ({_reason(e)}){hint}") from None
    finally:
        for d in created:  # deepest first: leave the tree as it was
            with contextlib.suppress(OSError):
                d.rmdir()
    return full


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _holds_foreign_images(folder: Path) -> bool:
    """True when ``folder`` holds image files and no semsim report (so they are someone's data)."""
    from semsim.data.images import is_image_file

    if not folder.is_dir() or (folder / "report.json").exists():
        return False
    try:
        return any(is_image_file(p.name) for p in folder.rglob("*") if p.is_file())
    except OSError:
        return False


def out_dir_vs_input(out_dir: str | os.PathLike[str], which: str, root: Any) -> str | None:
    """Where ``out_dir`` lies relative to input ``which`` (whose folder is ``root``).

    ``out_dir`` equal to the input folder, or inside it and holding images of its own, is
    refused. ``out_dir`` inside it otherwise is left out of the input (the folder walk prunes it,
    :mod:`semsim.data.exclude`), now and on later runs.

    Returns:
        the console note saying it is left out, or None when ``out_dir`` lies outside the input.

    Raises:
        UsageError: naming ``out_dir`` and the input.
    """
    if root is None:
        return None
    out = Path(os.path.realpath(Path(out_dir).expanduser()))
    base = Path(os.path.realpath(Path(str(root)).expanduser()))
    if not base.is_dir() or not _inside(out, base):
        return None
    if out == base:
        raise UsageError(
            f"out_dir: {out} is the folder of input {which} itself; the report's images would be "
            f"read as images of {which} on the next run; choose an out_dir outside {base}"
        )
    if _holds_foreign_images(out):
        raise UsageError(
            f"out_dir: {out} lies inside input {which} ({base}) and holds images of it; writing "
            f"the report there would mix it into {which}; choose an out_dir outside {base}"
        )
    return (
        f"out_dir {out} lies inside input {which} ({base}): it is left out of {which} "
        "(now and on later runs with this out_dir)"
    )


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def batch_bytes(image_size: int, batch_size: int) -> int:
    """Lower bound of the memory one batch of ``batch_size`` images at ``image_size`` needs."""
    return int(batch_size) * int(image_size) ** 2 * BYTES_PER_PIXEL


def check_image_memory(
    image_size: int | None, batch_size: int, available: int | None = None
) -> None:
    """Refuse an ``encoder.image_size`` whose batch cannot fit in memory (a MemoryError after
    minutes otherwise).

    Args:
        image_size: the encoder's input size (None: the model's own, which fits).
        batch_size: images per batch.
        available: bytes of memory available (default: the machine's ``MemAvailable``).
    """
    if image_size is None:
        return
    size = int(image_size)
    if size < 1:
        raise UsageError(f"encoder.image_size: expected a positive integer, got {size}")
    available = _available_bytes() if available is None else available
    need = batch_bytes(size, batch_size)
    if available is not None and need > available:
        gib = 2**30
        one = batch_bytes(size, 1)
        hint = (
            f"lower batch_size (one image needs {one / gib:.1f} GiB)"
            if one <= available
            else "lower encoder.image_size (the model's own, 224 for the default, is null)"
        )
        raise UsageError(
            f"encoder.image_size={size}: a batch of {batch_size} images needs at least "
            f"{need / gib:.1f} GiB at this size, but {available / gib:.1f} GiB of memory is "
            f"available; {hint}"
        )


def check_work_bounds(n_bootstrap: int, batch_size: int) -> str | None:
    """Ceilings of the options that scale work; returns the console line announcing a large
    resampling (None when there is nothing to announce)."""
    if n_bootstrap > MAX_BOOTSTRAP:
        raise UsageError(
            f"n_bootstrap: at most {MAX_BOOTSTRAP} resamples, got {n_bootstrap} (a 95% interval "
            "is stable long before; 50 is the default)"
        )
    if batch_size > MAX_BATCH_SIZE:
        raise UsageError(f"batch_size: at most {MAX_BATCH_SIZE}, got {batch_size}")
    if n_bootstrap >= ANNOUNCE_BOOTSTRAP:
        return (
            f"n_bootstrap={n_bootstrap}: every score without its own interval is recomputed "
            f"{n_bootstrap} times; the bar below counts them (n_bootstrap=50 is the default)"
        )
    return None


def input_notes(which: str, coll: Any, out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Console lines on what an input left out: files that are not images (SVG, junk; hidden
    files are not counted) and images skipped as unreadable (``on_bad_image=skip``)."""
    from semsim.data.exclude import excluding
    from semsim.data.images import is_image_file, iter_files

    notes = []
    root = getattr(coll, "root", None)
    if root is not None and Path(str(root)).is_dir():
        try:
            with excluding([out_dir] if out_dir is not None else []):
                other = [p for p in iter_files(Path(str(root))) if not is_image_file(p.name)]
        except OSError:
            other = []
        if other:
            names = ", ".join(p.name for p in other[:3]) + (", ..." if len(other) > 3 else "")
            notes.append(
                f"{which}: {len(other)} file(s) under {root} are not images and were ignored "
                f"({names})"
            )
    skipped = list(getattr(coll, "skipped", None) or [])
    if skipped:
        path, reason = skipped[0]
        notes.append(
            f"{which}: {len(skipped)} image(s) skipped as unreadable (on_bad_image=skip), "
            f"e.g. {path}: {reason}; report.json lists them"
        )
    return notes


def run_dir_is_out_dir(overrides: list[str], cfg: Any) -> list[str]:
    """With ``out_dir=DIR`` given (and no ``hydra.run.dir``), Hydra's run folder is DIR too, so
    that its ``.hydra/`` and log land inside ``out_dir`` and nothing is left in ``outputs/``.
    DIR is probed first (a real write), since Hydra creates its run folder before any check."""
    given = [o.split("=", 1)[1] for o in overrides if o.startswith("out_dir=")]
    if not given or any(o.lstrip("+~").startswith("hydra.run.dir=") for o in overrides):
        return overrides
    if "${" in given[-1]:  # an interpolation (perhaps of the run folder itself): left as it is
        return overrides
    probe_dir(str(cfg.out_dir), "out_dir")
    for which in ("a", "b"):  # refused inside an input: before Hydra writes its run folder there
        node = cfg.get(which)
        if node is not None and hasattr(node, "get") and node.get("root"):
            out_dir_vs_input(str(cfg.out_dir), which, node.get("root"))
    return [*overrides, f"hydra.run.dir={given[-1]}"]


def build_inputs(
    cfg: Any, out_dir: Path, build: Callable[[Any, str], Any], say: Callable[[str], Any]
) -> tuple[Any, Any]:
    """Collections a (and b) built by ``build(node, which)`` with ``out_dir`` left out of their
    folder walks; ``say`` is told when it lies inside one, of earlier reports left out, and of
    files the inputs ignored or skipped."""
    from semsim.data.exclude import excluding

    with excluding([out_dir]) as pruned:
        coll_a = build(cfg.a, "a")
        coll_b = build(cfg.b, "b") if cfg.get("b") is not None else None
    for folder in sorted(pruned - {os.path.realpath(out_dir)}):
        say(f"left out {folder} from the inputs: it holds a semsim report (an earlier run)")
    for which, coll in (("a", coll_a), ("b", coll_b)):
        if coll is None:
            continue
        note = out_dir_vs_input(out_dir, which, getattr(coll, "root", None))
        for line in ([note] if note else []) + input_notes(which, coll, out_dir):
            say(line)
    return coll_a, coll_b
