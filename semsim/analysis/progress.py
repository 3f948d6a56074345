"""Optional rich progress bar for the analysis steps; a no-op when disabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[str | None], None]
"""Advance the current task by one step, optionally renaming it."""


class Steps:
    """A rich progress bar with one task at a time, or nothing when ``enabled`` is false."""

    def __init__(self, enabled: bool) -> None:
        self.progress = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        if self.progress is None:
            yield lambda _desc=None: None
            return
        with self.progress:
            tid = self.progress.add_task(description, total=total)

            def advance(desc: str | None = None) -> None:
                self.progress.update(tid, advance=1, description=desc or description)

            yield advance
            self.progress.update(tid, description=description)
