"""Optional rich progress bars for the analysis steps (on stderr); a no-op when disabled.

Two kinds of task: :meth:`Steps.task` counts steps (engines, resamples, noise floors) and
:meth:`Steps.cells` counts the cells of a class matrix as :func:`semsim.metrics.class_matrices`
reports them (``progress(done, total)``), each with the time elapsed and an estimate of the time
left. :meth:`Steps.note` prints one line above the bars (e.g. how long the matrices will take).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Advance = Callable[[str | None], None]
"""Advance the current task by one step, optionally renaming it."""

CellProgress = Callable[[int, int], None]
"""``(cells done, cells in all)`` of the matrix being computed."""


def duration(seconds: float) -> str:
    """A rough human duration: ``"under a second"``, ``"about 40 s"``, ``"about 3 min"``."""
    if seconds < 1.0:
        return "under a second"
    if seconds < 90.0:
        return f"about {seconds:.0f} s"
    if seconds < 5400.0:
        return f"about {seconds / 60.0:.0f} min"
    return f"about {seconds / 3600.0:.1f} h"


class Steps:
    """Rich progress bars, or nothing when ``enabled`` is false.

    Args:
        enabled: show anything at all.
        console: a :class:`rich.console.Console` to draw on (default: one on stderr).
    """

    def __init__(self, enabled: bool, console: Any = None) -> None:
        self.progress = None
        self.console = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.table import Column

            self.console = console if console is not None else Console(stderr=True)
            self.progress = Progress(
                TextColumn(
                    "{task.description}",
                    table_column=Column(max_width=30, no_wrap=True, overflow="ellipsis"),
                ),
                BarColumn(bar_width=10),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self.console,
            )

    def note(self, line: str) -> None:
        """Print one line (nothing when disabled)."""
        if self.console is not None:
            self.console.print(line, highlight=False, soft_wrap=True)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        """A task of ``total`` steps; yields ``advance(new_description=None)``."""
        if self.progress is None:
            yield lambda _desc=None: None
            return
        with self.progress:
            tid = self.progress.add_task(description, total=total, unit="")

            def advance(desc: str | None = None) -> None:
                self.progress.update(tid, advance=1, description=desc or description)

            yield advance
            self.progress.update(tid, description=description)

    @contextmanager
    def cells(self) -> Iterator[Callable[[str], CellProgress]]:
        """Matrix tasks counted in cells: yields ``start(description)``, which adds a task and
        returns the ``progress(done, total)`` callback to hand to the matrix computation."""
        if self.progress is None:
            yield lambda _desc: lambda _done, _total: None
            return
        with self.progress:
            progress = self.progress

            def start(description: str) -> CellProgress:
                tid = progress.add_task(description, total=None, unit="cells")

                def update(done: int, total: int) -> None:
                    progress.update(tid, completed=done, total=total)

                def skipped() -> None:
                    progress.update(tid, description=f"skipped: {description}", total=0)

                update.skipped = skipped  # type: ignore[attr-defined]
                return update

            yield start
