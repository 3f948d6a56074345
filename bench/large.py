"""The large-set path end to end: a default compare of 2 x N CIFAR-10-sized images, streaming.

    .venv/bin/python bench/large.py --ns 2000 5000          # what fits a 2-core machine's hour
    .venv/bin/python bench/large.py --ns 50000              # the full-size run (2 x 50,000)

For each N, two image folders of N 32x32 PNGs are written (once, under ``--work``): A repeats the
CIFAR-10 train images, B the CIFAKE FAKE images, each copy with one pixel set from a counter so
that every file has its own content hash (no two images are the same to the cache). Then
``python -m semsim.compare`` runs with the defaults (encoder ``effnet_lite0``, runtime ``auto``,
every score) plus ``streaming=true`` and the sharded cache (``--shard-size``), in a fresh process
each time, measured from outside: wall time, peak RSS of the compare process (``ru_maxrss`` of
the child: flat in N when streaming works), images/s (2N / wall). With ``--resume`` it also runs
the kill test: a cold compare is killed (SIGKILL) once ``--kill-after`` shards are in the cache,
rerun to completion, and its scores compared with the uninterrupted run's (equal to 1e-6).

Prints one line per run and, from the measured rate, what 2 x 50,000 and 2 x 1,000,000 take here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(
    (b / "shared" / "data" for b in (ROOT.parent, ROOT.parent.parent) if (b / "shared").is_dir()),
    ROOT.parent / "shared" / "data",
)


def make_folder(out: Path, sources: list[Path], n: int, salt: int) -> Path:
    """``n`` PNGs under ``out/<class>/``, copies of ``sources`` made distinct by one pixel."""
    from PIL import Image

    done = out / ".complete"
    if done.exists() and int(done.read_text()) == n:
        return out
    order = np.random.default_rng(salt).permutation(len(sources))  # every class from the start
    for i in range(n):
        src = sources[order[i % len(sources)]]
        img = np.asarray(Image.open(src).convert("RGB").resize((32, 32))).copy()
        k = i // len(sources)  # which repetition: the counter lands in pixel (0, 0)
        img[0, 0] = [(k + salt) % 256, (k // 256) % 256, (i * 7) % 256]
        folder = out / src.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:07d}.png")
    done.write_text(str(n))
    return out


def sources() -> tuple[list[Path], list[Path]]:
    a = sorted((SHARED / "cifar10" / "train").glob("*/*.jpg"))
    b = sorted((SHARED / "cifake" / "train" / "FAKE").glob("*.jpg"))
    if not a or not b:
        sys.exit(f"error: no CIFAR-10 train / CIFAKE FAKE images under {SHARED}")
    return a, b


def compare_cmd(a: Path, b: Path, cache: Path, out: Path, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, "-m", "semsim.compare", "a=folder", f"a.root={a}", "b=folder",
        f"b.root={b}", "streaming=true", f"shard_size={args.shard_size}", f"cache_dir={cache}",
        f"out_dir={out}", "progress=false", f"runtime={args.runtime}", *args.extra,
    ]  # fmt: skip


def run_child(cmd: list[str], log: Path) -> dict[str, float]:
    """Run ``cmd`` in a child that reports its own wall time and peak RSS."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        f"rc = subprocess.call({cmd!r}, stdout=open({str(log)!r}, 'w'), stderr=subprocess.STDOUT)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'rc': rc, 'wall_s': wall, 'peak_rss_mib': rss}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scores(out: Path) -> dict[str, float]:
    report = json.loads((out / "report.json").read_text())
    return {k: v["value"] for k, v in report["scores"].items() if v.get("value") is not None}


def kill_midway(cmd: list[str], cache: Path, shards: int, log: Path) -> int:
    """Start ``cmd``; SIGKILL it once ``shards`` shard entries are in ``cache``; their count."""
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    while proc.poll() is None:
        if len(list(cache.glob("*.npz"))) >= shards:
            os.killpg(proc.pid, signal.SIGKILL)  # the compare and its loader workers
            proc.wait()
            return len(list(cache.glob("*.npz")))
        time.sleep(0.5)
    raise SystemExit(f"error: the compare finished before {shards} shards were cached ({log})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ns", type=int, nargs="+", default=[2000, 5000], help="images per side")
    p.add_argument("--work", default="/tmp/semsim-large", help="folder for images, caches, logs")
    p.add_argument("--shard-size", type=int, default=1000)
    p.add_argument("--runtime", default="auto", help="semsim runtime option (auto | torch | ...)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--cached", action=argparse.BooleanOptionalAction, default=True,
        help="also time the rerun on the filled cache (--no-cached: the cold run alone)",
    )  # fmt: skip
    p.add_argument("--kill-after", type=int, default=2, help="shards cached before the kill")
    p.add_argument("--record", action="store_true", help="write docs/generated/bench_large")
    p.add_argument("extra", nargs="*", help="more compare overrides (key=value)")
    args = p.parse_args()
    work = Path(args.work)
    src_a, src_b = sources()
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {os.cpu_count()} cores")
    rates, rows = [], []
    for n in args.ns:
        a = make_folder(work / f"a{n}", src_a, n, salt=0)
        b = make_folder(work / f"b{n}", src_b, n, salt=1)
        cache, out = work / f"cache{n}", work / f"out{n}"
        for d in (cache,):
            for f in d.glob("*") if d.exists() else []:
                if f.is_file():
                    f.unlink()
        cold = run_child(compare_cmd(a, b, cache, out, args), work / f"cold{n}.log")
        warm = (
            run_child(compare_cmd(a, b, cache, out / "cached", args), work / f"warm{n}.log")
            if args.cached
            else {"wall_s": float("nan"), "peak_rss_mib": float("nan"), "rc": "-"}
        )
        rate = 2 * n / cold["wall_s"]
        rates.append(rate)
        rows.append([f"2 x {n:,}", f"{cold['wall_s']:.0f} s", f"{rate:.1f}",
                     f"{cold['peak_rss_mib']:.0f} MiB", f"{warm['wall_s']:.0f} s",
                     f"{warm['peak_rss_mib']:.0f} MiB"])  # fmt: skip
        print(
            f"2 x {n}: cold {cold['wall_s']:.1f} s ({rate:.1f} img/s), peak RSS "
            f"{cold['peak_rss_mib']:.0f} MiB; cached {warm['wall_s']:.1f} s, peak RSS "
            f"{warm['peak_rss_mib']:.0f} MiB; rc {cold['rc']}/{warm['rc']}; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        if args.resume:
            kcache, kout = work / f"kill-cache{n}", work / f"kill-out{n}"
            for f in kcache.glob("*") if kcache.exists() else []:
                if f.is_file():
                    f.unlink()
            if (cache / "runtime").is_dir() and not (kcache / "runtime").exists():
                kcache.mkdir(parents=True, exist_ok=True)  # the export is not what is tested
                (kcache / "runtime").symlink_to(cache / "runtime", target_is_directory=True)
            cmd = compare_cmd(a, b, kcache, kout, args)
            had = kill_midway(cmd, kcache, args.kill_after, work / f"killed{n}.log")
            resumed = run_child(cmd, work / f"resumed{n}.log")
            want, got = scores(out), scores(kout)
            worst = max(abs(got[k] - want[k]) / max(abs(want[k]), 1e-12) for k in want)
            print(
                f"  killed (SIGKILL) with {had} shard entries cached; the rerun took "
                f"{resumed['wall_s']:.1f} s (cold: {cold['wall_s']:.1f} s); scores equal to the "
                f"uninterrupted run's: {sorted(got) == sorted(want) and worst <= 1e-6} "
                f"(largest relative difference {worst:.1e})"
            )
    rate = float(np.median(rates))
    for n in (50_000, 1_000_000):
        print(f"2 x {n:,} at {rate:.1f} img/s: {2 * n / rate / 3600:.1f} h on these cores")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.record:
        record_large(rows, rate)


def record_large(rows: list[list[str]], rate: float, note: str = "") -> None:
    """docs/generated/bench_large.json: one row per N, and the end-to-end rate's projections."""
    sys.path.insert(0, str(ROOT))
    from docs.measured import record

    path = record(
        "bench_large",
        values={
            "rate": f"{rate:.0f} img/s",
            "h_50k": f"{2 * 50_000 / rate / 3600:.1f} h",
            "h_1m": f"{2 * 1_000_000 / rate / 3600:.1f} h",
        },
        tables={
            "runs": {
                "columns": [
                    "images",
                    "cold wall",
                    "img/s end to end",
                    "cold peak RSS",
                    "cached wall",
                    "cached peak RSS",
                ],
                "align": "lrrrrr",
                "rows": rows,
            }
        },  # fmt: skip
        note="Default compare, streaming=true, sharded cache; peak RSS of the compare process "
        "and its loader workers (ru_maxrss of the children)." + note,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
