"""CPU time from start-up to the first answer of the `semsim` command (issue #16: under 2 s).

Each case runs in a fresh subprocess; its CPU time (user + system, from ``resource``'s
RUSAGE_CHILDREN) is what it costs the machine, which unlike wall time barely depends on how busy
the machine is. The load average is printed beside the numbers.

    python bench/startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_IMAGE = """
from semsim.compare import build_collection
from semsim.overrides import check_overrides
cfg = check_overrides("compare", ["a=folder", "a.root={root}"])
coll = build_collection(cfg.a, "a")
print(coll.load_image(0).size)
"""


def cases(images: Path) -> dict[str, list[str]]:
    py = [sys.executable]
    return {
        "semsim --help": [*py, "-m", "semsim", "--help"],
        "semsim compare --help": [*py, "-m", "semsim", "compare", "--help"],
        "typo: semsim compare a.max_per_clas=5": [*py, "-m", "semsim", "compare", "a.max_per_clas=5"],
        "typo: python -m semsim.compare a=fodler": [*py, "-m", "semsim.compare", "a=fodler"],
        "typo: semsim train experiment=smok": [*py, "-m", "semsim", "train", "experiment=smok"],
        "missing folder: semsim compare /no/A /no/B": [*py, "-m", "semsim", "compare", "/no/A"],
        "missing folder: semsim compare a=folder a.root=/no/A (through Hydra)": [
            *py, "-m", "semsim", "compare", "a=folder", "a.root=/no/A", "out_dir=" + tempfile.gettempdir(),
        ],
        "import to first image (folder source)": [*py, "-c", FIRST_IMAGE.format(root=images)],
        "reference: python -c 'import torch'": [*py, "-c", "import torch"],
    }  # fmt: skip


def cpu_of(cmd: list[str]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit status) of one run of ``cmd``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the minimum counts)")
    parser.add_argument("--record", action="store_true", help="write docs/generated/bench_startup")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        from PIL import Image

        images = Path(tmp) / "A"
        images.mkdir()
        for i in range(4):
            Image.new("RGB", (32, 32), (60 * i, 100, 200)).save(images / f"{i}.png")
        load = os.getloadavg()
        print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"{os.cpu_count()} CPUs; min of {args.repeat} runs")  # fmt: skip
        print("| case | CPU s | wall s | exit |\n|---|---:|---:|---:|")
        for name, cmd in cases(images).items():
            runs = [cpu_of(cmd) for _ in range(args.repeat)]
            cpu, wall, rc = min(runs)
            print(f"| {name} | {cpu:.2f} | {wall:.2f} | {rc} |", flush=True)
            rows.append([name, f"{cpu:.2f}", f"{wall:.2f}", str(rc)])
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.record:
        record_startup(rows, args.repeat)


def record_startup(rows: list[list[str]], repeat: int) -> None:
    """docs/generated/bench_startup.json: the table, and the few values the pages quote."""
    sys.path.insert(0, str(ROOT))
    from docs.measured import record

    by_case = {r[0]: r for r in rows}
    typos = [float(r[1]) for r in rows if r[0].startswith("typo")]
    helps = [float(by_case[k][1]) for k in ("semsim --help", "semsim compare --help")]
    first = next(r for r in rows if r[0].startswith("import to first image"))
    path = record(
        "bench_startup",
        values={
            "typo_cpu": f"{min(typos):.1f}-{max(typos):.1f} s",
            "help_cpu": f"{min(helps):.1f}-{max(helps):.1f} s",
            "first_image_cpu": f"{float(first[1]):.2f} s",
            "torch_cpu": f"{float(rows[-1][1]):.2f} s",  # the reference row: import torch
        },
        tables={
            "cases": {"columns": ["case", "CPU s", "wall s", "exit"], "align": "lrrr", "rows": rows}
        },  # fmt: skip
        note=f"Minimum of {repeat} runs in fresh processes.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
