"""Every GPU benchmark and the ``gpu``-marked tests in one run, with one summary table.

    bench/gpu.sh            # or: PYTHONPATH=. .venv/bin/python bench/gpu.py [--quick]

Without a CUDA device it says so and exits 0. On one GPU it takes a few minutes (< 8):

* peak matmul throughput: fp32, TF32 and bf16 (TFLOP/s), the ceiling for every figure below;
* extraction of synthetic images already in memory (so decoding does not hide the GPU) with
  ``tf_efficientnet_lite0`` at 224 px and FID's InceptionV3 at 299 px (random weights when the
  official file is absent: speed does not depend on the values), in fp32, fp32 + channels-last,
  bf16 autocast and fp16 autocast (channels-last): images/s, share of the ceiling, and the
  smallest cosine between each row and its fp32 feature;
* ``pytest -m gpu`` (tests/test_gpu.py and the DDP GPU smoke run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def peak_tflops(dtype: torch.dtype, tf32: bool, size: int = 8192, seconds: float = 3.0) -> float:
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(size, size, device="cuda", dtype=dtype)
    b = torch.randn(size, size, device="cuda", dtype=dtype)
    a @ b
    torch.cuda.synchronize()
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        for _ in range(5):
            a @ b
        torch.cuda.synchronize()
        best = max(best, 5 * 2 * size**3 / (time.perf_counter() - t) / 1e12)
    torch.backends.cuda.matmul.allow_tf32 = False
    return best


def bench_extraction(n: int, batch: int, peaks: dict[str, float]) -> list[tuple]:
    from torch.utils.flop_counter import FlopCounterMode

    from semsim.data.collection import ArrayCollection
    from semsim.encoders import EncoderSpec, InceptionV3FID
    from semsim.encoders.weights import find_inception_weights
    from semsim.features import extract_features

    rng = np.random.default_rng(0)
    col = ArrayCollection(rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8), name="gpu-bench")
    weights = find_inception_weights()
    if weights is None:
        weights = Path("/tmp/semsim-gpu-bench-inception.pth")
        torch.manual_seed(0)
        torch.save(InceptionV3FID(num_classes=1008).state_dict(), weights)
    specs = [
        EncoderSpec("tf_efficientnet_lite0"),
        EncoderSpec("inception_fid", checkpoint=str(weights)),
    ]
    modes = [
        ("fp32", "32", False, "fp32"),
        ("fp32 channels-last", "32", True, "fp32"),
        ("bf16 autocast", "bf16-mixed", False, "bf16"),
        ("bf16 channels-last", "bf16-mixed", True, "bf16"),
        ("fp16 channels-last", "16-mixed", True, "bf16"),
    ]
    rows = []
    for spec in specs:
        enc = spec.build()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            enc(torch.zeros(1, *enc.data_config["input_size"]))
        gflop = counter.get_total_flops() / 1e9
        ref = None
        for label, precision, cl, peak_key in modes:
            kw = dict(batch_size=batch, num_workers=4, device="cuda", precision=precision,
                      channels_last=cl, progress=False)  # fmt: skip
            extract_features(ArrayCollection(col.images[:batch]), enc, **kw)  # warm-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            f = extract_features(col, enc, **kw).features
            torch.cuda.synchronize()
            ips = n / (time.perf_counter() - t)
            ref = f if ref is None else ref
            cos = float(
                ((f * ref).sum(1) / np.linalg.norm(f, axis=1) / np.linalg.norm(ref, axis=1)).min()
            )
            ceiling = peaks[peak_key] * 1e3 / gflop
            rows.append((spec.key, label, ips, ceiling, cos))
            print(f"  {spec.key:15s} {label:20s} {ips:9.0f} img/s  ceiling {ceiling:9.0f}  "
                  f"min cos vs fp32 {cos:.5f}", flush=True)  # fmt: skip
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer images")
    p.add_argument("--n", type=int, default=None, help="images per extraction run")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--tests-timeout", type=int, default=240)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device on this machine: no GPU benchmark or gpu test to run (exit 0)")
        return 0
    n = args.n or (1024 if args.quick else 8192)
    print(f"{torch.cuda.get_device_name(0)} | torch {torch.__version__} | cores {os.cpu_count()}")
    peaks = {
        "fp32": peak_tflops(torch.float32, False),
        "tf32": peak_tflops(torch.float32, True),
        "bf16": peak_tflops(torch.bfloat16, False),
    }
    print("  matmul peak TFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    rows = bench_extraction(n, args.batch_size, peaks)
    t = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        res = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"],
            cwd=ROOT, env=env, timeout=args.tests_timeout, capture_output=True, text=True,
        )  # fmt: skip
        tail = (res.stdout.strip().splitlines() or ["(no output)"])[-1]
        tests = f"{'passed' if res.returncode == 0 else 'FAILED'}: {tail}"
        if res.returncode != 0:
            print(res.stdout[-4000:], res.stderr[-2000:])
    except subprocess.TimeoutExpired:
        tests = f"TIMED OUT after {args.tests_timeout} s"
    t_tests = time.perf_counter() - t
    print("\n==== summary ====")
    print("matmul peak TFLOP/s   " + "   ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    print(f"{'encoder':15s} {'mode':20s} {'img/s':>9s} {'ceiling':>9s} {'of ceiling':>10s} "
          f"{'min cos vs fp32':>15s}")  # fmt: skip
    for key, label, ips, ceiling, cos in rows:
        print(f"{key:15s} {label:20s} {ips:9.0f} {ceiling:9.0f} {ips / ceiling:10.1%} {cos:15.5f}")
    print(f"pytest -m gpu ({t_tests:.0f} s): {tests}")
    return 0 if tests.startswith("passed") else 1


if __name__ == "__main__":
    sys.exit(main())
