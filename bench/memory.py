"""Peak memory of the streaming scores as the number of feature rows grows (10^4 to 10^6).

Two synthetic feature sets A and B of n rows each (B shifted) are generated chunk by chunk and fed
to :class:`semsim.metrics.FeatureSummary` (running mean/covariance sums plus a bounded reservoir
sample); then :func:`semsim.metrics.summary_scores` computes prototype cosine and FD from the sums
and KID, CMMD and PRDC on the reservoirs. Nothing holds all rows, so the peak resident memory
should stay flat while n grows 100-fold; the last column shows what holding both sets as float32
would take instead.

Each n runs in a fresh process, so its peak RSS (``getrusage`` ``ru_maxrss``) is its own;
"above base" subtracts that process's peak after its imports.

Usage: ``.venv/bin/python bench/memory.py [--ns 10000 100000 1000000] [--dim 256]
[--capacity 10000] [--chunk 4096] [--threads 2] [--no-scores]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(args: argparse.Namespace) -> None:
    """Stream two n-row sets through FeatureSummary; print one JSON line of measurements."""
    import torch

    from semsim.metrics import FeatureSummary, summary_scores

    torch.set_num_threads(args.threads)
    base = peak_rss_mib()
    n, d = args.n, args.dim
    g = torch.Generator().manual_seed(0)
    scale = (1.0 / (1.0 + torch.arange(d, dtype=torch.float32))).sqrt()  # decaying spectrum
    summaries = [FeatureSummary(d, args.capacity, seed=s) for s in (0, 1)]
    start = time.perf_counter()
    for offset in range(0, n, args.chunk):
        rows = min(args.chunk, n - offset)
        index = torch.arange(offset, offset + rows)
        for shift, summary in zip((0.5, 0.55), summaries, strict=True):
            x = torch.randn(rows, d, generator=g) * scale + shift  # float32, as an encoder gives
            summary.update(x, index)
    t_stream = time.perf_counter() - start
    peak_stream = peak_rss_mib()
    scores: dict[str, float] = {}
    t_scores = 0.0
    if args.scores:
        start = time.perf_counter()
        scores = summary_scores(*summaries)
        t_scores = time.perf_counter() - start
    print(
        json.dumps(
            {
                "n": n,
                "t_stream": t_stream,
                "t_scores": t_scores,
                "base": base,
                "peak_stream": peak_stream,
                "peak": peak_rss_mib(),
                "scores": scores,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ns", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--dim", type=int, default=256, help="feature dimension D")
    p.add_argument("--capacity", type=int, default=10_000, help="reservoir rows per set")
    p.add_argument("--chunk", type=int, default=4096, help="rows per update")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--no-scores", dest="scores", action="store_false", help="stream only")
    p.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)  # child mode
    p.add_argument("--record", action="store_true", help="write docs/generated/bench_memory")
    args = p.parse_args()
    if args.n is not None:
        child(args)
        return

    load = os.getloadavg()[0]
    print(
        f"streaming A and B (n rows each, D={args.dim}, chunks of {args.chunk}, reservoir "
        f"{args.capacity} rows a set, {args.threads} threads); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    header = (
        f"{'n':>9} {'stream s':>9} {'rows/s':>9} {'scores s':>9} {'peak MiB':>9} "
        f"{'above base':>10} {'stream peak':>11} {'all rows f32':>12}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for n in args.ns:
        cmd = [sys.executable, __file__, "--n", str(n), "--dim", str(args.dim),
               "--capacity", str(args.capacity), "--chunk", str(args.chunk),
               "--threads", str(args.threads)]  # fmt: skip
        if not args.scores:
            cmd.append("--no-scores")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        results.append(r)
        held = 2 * n * args.dim * 4 / 2**20
        print(
            f"{n:>9,} {r['t_stream']:>9.1f} {2 * n / r['t_stream']:>9,.0f} {r['t_scores']:>9.1f} "
            f"{r['peak']:>9.0f} {r['peak'] - r['base']:>10.0f} "
            f"{r['peak_stream'] - r['base']:>11.0f} {held:>12,.0f}",
            flush=True,
        )
    if args.scores:
        print("\nscores (B vs A) at each n:")
        names = list(results[0]["scores"])
        print(f"{'n':>9} " + " ".join(f"{k:>10}" for k in names))
        for r in results:
            print(f"{r['n']:>9,} " + " ".join(f"{r['scores'][k]:>10.4g}" for k in names))
    if args.record:
        record_memory(args, results, load)


def record_memory(args: argparse.Namespace, results: list[dict], load: float) -> None:
    """docs/generated/bench_memory.json: the table and the streamed FD at the largest n."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from docs.measured import record

    rows = [
        [f"{r['n']:,}", f"{r['t_stream']:.1f} s", f"{r['t_scores']:.1f} s",
         f"{r['peak']:,.0f} MiB", f"{r['peak'] - r['base']:,.0f} MiB",
         f"{r['peak_stream'] - r['base']:,.0f} MiB", f"{2 * r['n'] * args.dim * 4 / 2**20:,.0f} MiB"]
        for r in results
    ]  # fmt: skip
    fd = [v for k, v in results[-1]["scores"].items() if k.startswith("fd")]
    path = record(
        "bench_memory",
        values={
            "fd_largest_n": f"{fd[0]:.4f}" if fd else "n/a",
            # the two sets differ by a shift of 0.05 in every dimension, same covariance
            "fd_analytic": f"{args.dim * 0.05**2:.2f}",
        },
        tables={
            "memory": {
                "columns": [
                    "n per set",
                    "stream time",
                    "scores time",
                    "peak RSS",
                    "above the process base",
                    "streaming part's peak",
                    "holding both sets in float32",
                ],
                "align": "rrrrrrr",
                "rows": rows,
            }
        },  # fmt: skip
        note=f"Load average {load:.1f} at the start. D = {args.dim}, chunks of {args.chunk}, "
        f"reservoir of {args.capacity:,} rows a set.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
