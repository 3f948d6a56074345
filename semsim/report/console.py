"""Terminal summary of a report (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from semsim.report.notes import floor_cell, pair_kind, versus
from semsim.report.plots import format_value
from semsim.report.schema import Report
from semsim.report.writer import extreme_pairs


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else format_value(float(x))


def print_summary(report: Report, console: Console | None = None) -> None:
    """Print the headline, the score table and each matrix's extreme class pairs."""
    console = console or Console()
    for label, sim in (
        ("content similarity", report.similarity),
        ("appearance", report.appearance),
    ):
        if sim is None:
            continue
        ci = f"  95% CI [{_fmt(sim.ci[0])}, {_fmt(sim.ci[1])}]" if sim.ci else ""
        console.print(f"[bold]{label} = {sim.value:.3f}[/bold]{escape(ci)}  ({escape(sim.basis)})")
        console.print(f"  {escape(sim.reading)}")
    if report.similarity is None and report.scores:  # A vs B, no headline value: say so
        name = str(report.method.get("headline_score") or "")
        skipped = report.scores[name].skipped if name in report.scores else None
        why = f": {name} skipped: {skipped}" if skipped else ""
        console.print(f"[bold]similarity = not available[/bold]{escape(why)}")
    if report.scores:
        table = Table(title=escape(versus(report)), show_lines=False)
        table.add_column("score", style="bold")
        table.add_column("value", justify="right")
        table.add_column("95% CI", justify="center")
        table.add_column("noise floor", justify="right")
        table.add_column("similar if", justify="center")
        for name, s in report.scores.items():
            direction = "higher" if s.higher_is_more_similar else "lower"
            if s.skipped is not None:
                table.add_row(
                    escape(name),
                    f"[yellow]skipped[/yellow]: {escape(s.skipped)}",
                    "",
                    "",
                    direction,
                )
                continue
            ci = "" if s.ci is None else escape(f"[{_fmt(s.ci[0])}, {_fmt(s.ci[1])}]")
            floor = escape(floor_cell(name, s, report))
            table.add_row(escape(name), _fmt(s.value), ci, floor, direction)
        console.print(table)
    if report.matrices:
        table = Table(title=escape(f"class matrices ({versus(report)})"))
        table.add_column("matrix", style="bold")
        table.add_column("shape", justify="center")
        table.add_column("most similar pair")
        table.add_column("least similar pair")
        for name, m in report.matrices.items():
            most, least = extreme_pairs(m, k=1)
            shape = f"{m.values.shape[0]} x {m.values.shape[1]}"
            hi = f"{most[0][0]} / {most[0][1]} ({_fmt(most[0][2])})" if most else ""
            lo = f"{least[0][0]} / {least[0][1]} ({_fmt(least[0][2])})" if least else ""
            table.add_row(escape(f"{name} ({pair_kind(m)})"), shape, escape(hi), escape(lo))
        console.print(table)
