"""Folders the walk over an input folder leaves out: the run's own ``out_dir``.

A report written inside an input folder (``out_dir=DIR_A/report``) would otherwise be read back as
a class of A on the next run (its heatmap PNGs are images). The entry point declares its output
folder with :func:`excluding`; :func:`semsim.data.images.iter_files` then prunes it, and any folder
holding a semsim ``report.json`` (a report of an earlier run, wherever it was written), and
records what it pruned, so that the entry point can say so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

_EXCLUDED: ContextVar[tuple[str, ...]] = ContextVar("semsim_excluded_dirs", default=())
_HIT: ContextVar[set[str] | None] = ContextVar("semsim_excluded_hit", default=None)


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(Path(path).expanduser())


@contextmanager
def excluding(dirs: Iterable[str | os.PathLike[str]]) -> Iterator[set[str]]:
    """Within the block, folder walks skip ``dirs`` (and everything below them).

    Yields:
        the set of excluded folders a walk actually met (filled as walks run).
    """
    hit: set[str] = set()
    token = _EXCLUDED.set(tuple(_real(d) for d in dirs))
    token_hit = _HIT.set(hit)
    try:
        yield hit
    finally:
        _EXCLUDED.reset(token)
        _HIT.reset(token_hit)


def holds_report(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a semsim ``report.json`` (its first bytes name the schema)."""
    try:
        with open(Path(folder) / "report.json", "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return b'"schema_version"' in head


def is_excluded(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is one of the excluded folders or holds a semsim report (recorded as
    met)."""
    excluded = _EXCLUDED.get()
    real = _real(path) if excluded else ""
    if real in excluded or holds_report(path):
        hit = _HIT.get()
        if hit is not None:
            hit.add(real or _real(path))
        return True
    return False
