"""Numbers in README.md and docs/ come from generated files, never from typing.

A script that measures something calls :func:`record`, which writes
``docs/generated/<name>.json``: the values and tables it measured (already formatted as the pages
show them), the command that wrote it, the date and the load average. Pages quote that file in
marked regions, invisible once rendered (GitHub and the mkdocs site alike)::

    <!-- table:bench_metrics/fd -->       a table of the file, with the line saying who wrote it
    ...
    <!-- /table -->
    FD is <!-- n:bench_metrics/fd_speedup -->11.2x<!-- /n --> faster   one value, inline

``python docs/measured.py sync`` rewrites every region from the files; ``check`` (and
``tests/test_docs.py``) fails on a region whose text differs from its file, a key that is not
there, or a file no :data:`SOURCES` entry writes. ``list`` says which command writes which file;
``run NAME...`` runs those commands, then syncs (``make numbers``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "generated"

REGION = re.compile(
    r"<!-- table:(?P<tkey>[\w.-]+/[\w.-]+) -->\n(?P<table>.*?)<!-- /table -->"
    r"|<!-- n:(?P<nkey>[\w.-]+/[\w.-]+) -->(?P<value>.*?)<!-- /n -->",
    re.DOTALL,
)


@dataclass(frozen=True)
class Source:
    """Which command writes ``docs/generated/<name>.json``, and how long it takes."""

    command: str
    what: str
    kind: str = "slow"  # "fast": `make numbers` runs it; "slow": minutes; "manual": by hand


PY = "PYTHONPATH=. .venv/bin/python"
#: every generated file and the command that writes it (``make numbers`` runs the fast ones)
SOURCES: dict[str, Source] = {
    "bench_startup": Source(
        f"{PY} bench/startup.py --repeat 3 --record", "CPU time to the first answer", "fast"
    ),
    "bench_metrics": Source(
        f"{PY} bench/metrics.py --record", "Fréchet distance routes; class matrices vs Gram"
    ),
    "bench_extract": Source(
        f"{PY} bench/extract.py --n 300 --repeats 2 --num-workers 0 "
        "--runtimes torch openvino onnxruntime --record",
        "extraction vs torch-fidelity's loop and the fp32 ceiling",
    ),
    "bench_memory": Source(f"{PY} bench/memory.py --record", "streaming memory over n"),
    "bench_large": Source(
        f"{PY} bench/large.py --ns 50000 --shard-size 5000 --kill-after 3 --no-cached --record",
        "the large-set path: a default streaming compare of 2 x 50,000 images",
    ),
    "bench_intervals": Source(
        f"{PY} bench/intervals.py --n 5000 --record",
        "half-sample intervals: the batched resample route against one call a replicate",
    ),
    "bench_compare": Source(
        f"{PY} bench/compare.py --n 1000 --record", "2 x 1,000-image compare, cold and cached"
    ),
    "bench_duplicates": Source(
        f"{PY} bench/duplicates.py --n 300 --record", "near-duplicate threshold on CIFAR-10"
    ),
    "content_headline": Source(
        f"{PY} bench/content.py --root ../shared/data/cifar10 --cifake ../shared/data/cifake "
        "--n 50 --size 224 --runtime openvino --record",
        "the content and appearance headlines on visible proxies (renderings, classes, shares, "
        "glyphs, shapes, degradation ladders, CIFAKE)",
    ),
    "content_classes": Source(
        f"{PY} bench/content.py --root ../shared/data/cifar10 --n 300 --size 224 "
        "--runtime openvino --classes-only --record",
        "the content headline's CIFAR-10 class matrix at 300 test images a class (issue #21 item 3)",
    ),
    "content_shares": Source(
        f"{PY} bench/content.py --root ../shared/data/cifar10 --n 300 --size 224 "
        "--runtime openvino --shares-only --record",
        "the content headline's shares at 300 test images a class (issue #21 item 1)",
    ),
    "human_cifar10h": Source(
        f"{PY} bench/human.py --root ../shared/data/cifar10 --cifar10h CIFAR10H/cifar10h-counts.npy "
        "--n 300 --runtime openvino --record",
        "the CIFAR-10 class matrices against people's confusion (CIFAR-10H; its file is not "
        "shipped: github.com/jcpeterson/cifar-10h, data/)",
        "manual",
    ),
    "fashion_mnist": Source(
        f"{PY} bench/fashion.py --cifar10 ../shared/data/cifar10 --n 100 --runtime openvino "
        "--record",
        "the two headlines on a held-out domain, Fashion-MNIST (apt install "
        "dataset-fashion-mnist, or the files of github.com/zalandoresearch/fashion-mnist)",
        "manual",
    ),
    "strokes": Source(
        f"{PY} bench/strokes.py --cifar10 ../shared/data/cifar10 --n 50 --runtime openvino "
        "--record",
        "the two headlines on invented handwritten characters (drawn by the script, no data)",
        "manual",
    ),
    "experiment_cifar10_compare": Source(
        f"{PY} docs/experiments.py cifar10_compare REPORT_DIR",
        "experiment 1 without training: its report.json, read by docs/experiments.py",
        "manual",
    ),
    "experiment_cifake_compare": Source(
        f"{PY} docs/experiments.py cifake_compare REPORT_DIR",
        "experiment 2 without training: its report.json, read by docs/experiments.py",
        "manual",
    ),
    "experiment_cifar10_cpu": Source(
        f"{PY} docs/experiments.py cifar10_cpu RUN_DIR",
        "experiment 1 with training (make run): its run folder, read by docs/experiments.py",
        "manual",
    ),
    "experiment_cifake_cpu": Source(
        f"{PY} docs/experiments.py cifake_cpu RUN_DIR",
        "experiment 2 with training (experiment=cifake_cpu): its run folder",
        "manual",
    ),
    "experiment_cifake_choice": Source(
        "short runs of candidate set-ups on a CIFAKE subset (by hand, round 1)",
        "how cifake_cpu was chosen: no script; the set-ups are described on the page",
        "manual",
    ),
}


def record(
    name: str,
    *,
    values: dict[str, str] | None = None,
    tables: dict[str, dict] | None = None,
    note: str = "",
) -> Path:
    """Write ``docs/generated/<name>.json`` (called by the script that measured the numbers).

    Args:
        name: a key of :data:`SOURCES`.
        values: display strings (``"11.2x"``, ``"2.38 s"``) quoted inline by pages.
        tables: ``{"columns": [...], "rows": [[str, ...]], "align": "lrr"}`` (align optional).
        note: one sentence on the conditions (machine, what else ran).
    """
    if name not in SOURCES:
        raise ValueError(f"record: unknown name {name!r}; add it to SOURCES in {__file__}")
    for tname, t in (tables or {}).items():
        bad = [r for r in t["rows"] if len(r) != len(t["columns"])]
        if bad:
            raise ValueError(f"record {name}: table {tname!r} has rows of the wrong width: {bad}")
    load = os.getloadavg()
    data = {
        "source": SOURCES[name].command,
        "argv": shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": f"{load[0]:.1f}",
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "note": note,
        "values": {k: str(v) for k, v in (values or {}).items()},
        "tables": tables or {},
    }
    GENERATED.mkdir(parents=True, exist_ok=True)
    path = GENERATED / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return path


def cpu_model() -> str:
    """The CPU's model and whether it has AVX-512 (embedding speed turns on it), from
    /proc/cpuinfo; "" where that cannot be read."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), "")  # fmt: skip
    return f"{model}, {'with' if ' avx512f' in info else 'without'} AVX-512" if model else ""


def load(name: str) -> dict:
    path = GENERATED / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"{path.relative_to(ROOT)} does not exist (written by: {_cmd(name)})")
    return json.loads(path.read_text("utf-8"))


def _cmd(name: str) -> str:
    return SOURCES[name].command if name in SOURCES else "no SOURCES entry"


def provenance(data: dict) -> str:
    """The line under a generated table: who wrote it, when, at which load."""
    note = f" {data['note']}" if data.get("note") else ""
    cpu = f", {data['cpu']}" if data.get("cpu") else ""  # (absent from files written before)
    return (
        f"*Written by `{data['argv']}` on {data['date']}, load average {data['load_average']} "
        f"({data['cpus']} CPUs{cpu}).{note}*"
    )


def render_table(key: str) -> str:
    """Markdown of ``name/table`` (the text between its two markers)."""
    name, tname = key.split("/", 1)
    data = load(name)
    if tname not in data["tables"]:
        raise KeyError(f"docs/generated/{name}.json has no table {tname!r}")
    t = data["tables"][tname]
    align = t.get("align", "l" * len(t["columns"]))
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [_row(t["columns"]), _row(rule), *(_row(r) for r in t["rows"])]
    return "\n" + "\n".join(lines) + "\n\n" + provenance(data) + "\n\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render_value(key: str) -> str:
    name, vname = key.split("/", 1)
    values = load(name)["values"]
    if vname not in values:
        raise KeyError(f"docs/generated/{name}.json has no value {vname!r}")
    return values[vname]


def _expected(m: re.Match) -> str:
    return render_table(m["tkey"]) if m["tkey"] else render_value(m["nkey"])


def pages() -> list[Path]:
    """README.md and every markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def check(paths: list[Path] | None = None) -> list[str]:
    """One line per region whose text differs from its generated file (empty: all true)."""
    errors = []
    for path in paths or pages():
        text = path.read_text("utf-8")
        for m in REGION.finditer(text):
            key, got = (m["tkey"], m["table"]) if m["tkey"] else (m["nkey"], m["value"])
            line = text.count("\n", 0, m.start()) + 1
            if key.split("/")[0] not in SOURCES:
                errors.append(f"{path.name}:{line}: {key}: no SOURCES entry writes this file")
                continue
            try:
                want = _expected(m)
            except KeyError as err:
                errors.append(f"{path.name}:{line}: {key}: {err.args[0]}")
                continue
            if got != want:
                errors.append(
                    f"{path.name}:{line}: {key} reads {got.strip()!r}, file: {want.strip()!r}"
                )
    return errors


def sync(paths: list[Path] | None = None) -> list[Path]:
    """Rewrite every region from its generated file; returns the pages that changed."""
    changed = []
    for path in paths or pages():
        text = path.read_text("utf-8")

        def fill(m: re.Match) -> str:
            if m["tkey"]:
                return f"<!-- table:{m['tkey']} -->\n{render_table(m['tkey'])}<!-- /table -->"
            return f"<!-- n:{m['nkey']} -->{render_value(m['nkey'])}<!-- /n -->"

        new = REGION.sub(fill, text)
        if new != text:
            path.write_text(new, "utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="which command writes which file, and when it last did")
    sub.add_parser("check", help="fail when a page's number differs from its generated file")
    sub.add_parser("sync", help="rewrite the pages' regions from the generated files")
    run = sub.add_parser("run", help="run the writers (default: the fast ones), then sync")
    run.add_argument("names", nargs="*", help="SOURCES names, or `all`")
    args = p.parse_args(argv)
    if args.cmd == "list":
        for name, s in SOURCES.items():
            path = GENERATED / f"{name}.json"
            when = json.loads(path.read_text("utf-8"))["date"] if path.is_file() else "missing"
            print(f"docs/generated/{name}.json  [{s.kind}, written {when}]  {s.what}")
            print(f"    {s.command}")
        return 0
    if args.cmd == "run":
        names = args.names or [n for n, s in SOURCES.items() if s.kind == "fast"]
        if names == ["all"]:
            names = [n for n, s in SOURCES.items() if s.kind != "manual"]
        unknown = [n for n in names if n not in SOURCES]
        if unknown:
            print(f"error: unknown names {unknown}; known: {list(SOURCES)}", file=sys.stderr)
            return 2
        for name in names:
            if SOURCES[name].kind == "manual":
                print(f"{name}: run by hand: {SOURCES[name].command}")
                continue
            cmd = SOURCES[name].command.replace(".venv/bin/python", sys.executable)
            print(f"$ {cmd}", flush=True)
            subprocess.run(cmd, shell=True, cwd=ROOT, check=True)
    if args.cmd in ("run", "sync"):
        for path in sync():
            print(f"updated {path.relative_to(ROOT)}")
    errors = check()
    print("\n".join(errors) or "every generated number in README.md and docs/ matches its file")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
