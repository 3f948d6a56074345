"""Reading the same CIFAKE images from a folder, a zip, a tar, a tar.gz, a parquet file and a
``save_to_disk`` folder: time to open (list and check), to hash (the feature-cache key reads every
byte) and to decode every image, side by side in one run. Writes docs/sources_bench.md.

    python bench/sources.py [--per-kind 2000] [--data /work/shared/data/cifake] [--out docs/sources_bench.md]

CPU seconds (``time.process_time``: all threads of this process) are what a step costs the
machine and barely depend on how busy it is; wall seconds are printed beside them with the load.
The archives are written to a temporary folder (the shared data is only read).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data/cifake")


def build_inputs(tmp: Path, data: Path, per_kind: int) -> dict[str, dict[str, object]]:
    """The same images in every container; returns ``{label: (source, options)}``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = []
    for kind in ("REAL", "FAKE"):
        files += sorted((data / "train" / kind).iterdir())[:per_kind]
    folder = tmp / "folder" / "train"
    for f in files:
        dest = folder / f.parent.name / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f, dest)
    with zipfile.ZipFile(tmp / "cifake.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f"train/{f.parent.name}/{f.name}")
    for name, mode in (("cifake.tar", "w"), ("cifake.tar.gz", "w:gz")):
        with tarfile.open(tmp / name, mode) as t:
            for f in files:
                t.add(f, f"train/{f.parent.name}/{f.name}")
    table = pa.table(
        {
            "image": pa.array(
                [{"bytes": f.read_bytes(), "path": f.name} for f in files],
                type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
            "label": pa.array([int(f.parent.name == "FAKE") for f in files], pa.int64()),
        }
    )
    features = {
        "image": {"_type": "Image"},
        "label": {"names": ["REAL", "FAKE"], "_type": "ClassLabel"},
    }
    table = table.replace_schema_metadata(
        {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    )
    pq.write_table(table, tmp / "cifake.parquet")
    disk = tmp / "saved"
    disk.mkdir()
    sink = pa.OSFile(str(disk / "data-00000-of-00001.arrow"), "wb")
    with sink, pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=1000):
            writer.write_batch(batch)
    (disk / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )
    (disk / "dataset_info.json").write_text(json.dumps({"features": features}))
    split = {"split": "train", "kinds": ["REAL", "FAKE"]}
    return {
        "folder (cifake source)": {"source": "cifake", "root": str(tmp / "folder"), **split},
        "zip (cifake source)": {"source": "cifake", "root": str(tmp / "cifake.zip"), **split},
        "tar (archive source)": {"source": "archive", "root": str(tmp / "cifake.tar"), "split": "train"},
        "tar.gz (archive source)": {
            "source": "archive", "root": str(tmp / "cifake.tar.gz"), "split": "train",
        },
        "parquet (hf source)": {"source": "hf", "path": str(tmp / "cifake.parquet")},
        "save_to_disk (hf source)": {"source": "hf", "path": str(disk)},
    }  # fmt: skip


def disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=DATA, help="CIFAKE: train/REAL|FAKE/*.jpg")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "sources_bench.md")
    args = parser.parse_args()
    from semsim.data.sources import build_source

    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = build_inputs(Path(tmp), args.data, args.per_kind)
        for label, options in inputs.items():
            options = dict(options)
            source = options.pop("source")
            coll, w_open, c_open = timed(lambda: build_source(source, options))  # noqa: B023
            _, w_hash, c_hash = timed(coll.fingerprint)
            _, w_dec, c_dec = timed(lambda: [coll.load_image(i) for i in range(len(coll))])  # noqa: B023
            size = disk_size(Path(str(options.get("root") or options["path"])))
            rows.append((label, len(coll), size, c_open, c_hash, c_dec, w_open + w_hash + w_dec))
            print(rows[-1], flush=True)
    load_after = os.getloadavg()
    lines = [
        "# Reading sources: folder, archives, Hugging Face files (measured)",
        "",
        "Written by `python bench/sources.py --per-kind "
        f"{args.per_kind}` (do not edit by hand). The same {rows[0][1]:,} CIFAKE training images "
        "(REAL and FAKE, 32 x 32 JPEG) in each container; CPU seconds of this process (all "
        "threads); *hash* is the feature-cache key, which reads every image's bytes; *decode* "
        "is `load_image` of every image, one by one.",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        "| container | images | size on disk (MB) | open, CPU s | hash, CPU s | decode, CPU s | all, wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, n, size, c_open, c_hash, c_dec, wall in rows:
        lines.append(
            f"| {label} | {n:,} | {size / 1e6:.1f} | {c_open:.2f} | {c_hash:.2f} | {c_dec:.2f} | {wall:.2f} |"
        )
    lines += [
        "",
        "The folder's size is that of its files (symbolic links to the shared data are followed).",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
