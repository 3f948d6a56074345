"""The per-process embedding loop behind :func:`semsim.features.extract_features`: the job fixed
for one call (encoder, dataset, device, precision, layout), its batches, and the rows of a shard
embedded on this process and gathered from every process in the collection's order.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data import Subset as TorchSubset

from semsim.data.collection import ImageCollection
from semsim.encoders import Encoder, EncoderSpec

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16": torch.float16}
EncoderLike = EncoderSpec | Encoder | Callable[[torch.Tensor], torch.Tensor]


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


AUTO_WORKERS = 2  # loader processes of num_workers="auto" where they pay: a GPU, or > 2 CPUs
AUTO_INLINE_CPUS = 2  # at most this many usable CPUs: "auto" decodes in the embedding process


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS tells, else the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def resolve_workers(num_workers: int | str, device: torch.device) -> int:
    """DataLoader worker processes for ``num_workers``: a count as given; ``"auto"`` none on a CPU
    with at most :data:`AUTO_INLINE_CPUS` usable CPUs (the encoder's threads already use every
    core there, and worker processes add copies of every batch through shared memory and preempt
    the encoder's threads: a cold 2 x 1,000 compare on 2 cores took 5-6 s less without them in
    alternating bench/compare.py runs, 10-13 s in direct ones; docs/runtime.md), else
    :data:`AUTO_WORKERS`."""
    value = str(num_workers).strip().lower()
    if value == "auto":
        inline = device.type == "cpu" and usable_cpus() <= AUTO_INLINE_CPUS
        return 0 if inline else AUTO_WORKERS
    if isinstance(num_workers, bool) or not value.isdigit():
        raise ValueError(f"num_workers: expected an integer >= 0 or 'auto', got {num_workers!r}")
    return int(value)


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "32":
        return contextlib.nullcontext()
    if precision == "16" and device.type == "cpu":
        raise ValueError("precision=16-mixed needs a GPU; use bf16-mixed or 32 on CPU")
    return torch.autocast(device_type=device.type, dtype=_AUTOCAST_DTYPES[precision])


class Progress:
    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


@dataclass
class Job:
    """Everything the loop needs, fixed for one call."""

    encode: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    dataset: Dataset
    dim: int | None
    batch_size: int
    num_workers: int  # resolved (resolve_workers)
    device: torch.device
    precision: str
    channels_last: bool
    trainer: Any = None
    sidecar: Any = None  # takes each batch's extra parts (semsim.features.content.PixelSidecar)

    @property
    def world(self) -> tuple[int, int]:
        if self.trainer is None:
            return 1, 0
        return int(self.trainer.world_size), int(self.trainer.global_rank)


def _batches(job: Job, indices: list[int]) -> Iterator[torch.Tensor]:
    loader = DataLoader(
        TorchSubset(job.dataset, indices),
        batch_size=job.batch_size,
        shuffle=False,
        num_workers=job.num_workers,
        pin_memory=job.device.type == "cuda",
        drop_last=False,
    )
    for x, _ in loader:
        if job.sidecar is not None:
            x = job.sidecar.take(x)
        x = x.to(job.device, non_blocking=True)
        if job.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        yield x


def _embed_local(job: Job, indices: list[int], bar: Progress) -> torch.Tensor:
    """``(len(indices), D [+ C])`` float32 rows of this process: features, then concept logits."""
    chunks: list[torch.Tensor] = []
    with torch.inference_mode(), _autocast(job.device, job.precision):
        for x in _batches(job, indices):
            f, logits = job.encode(x)
            row = f.float() if logits is None else torch.cat([f.float(), logits.float()], 1)
            chunks.append(row.cpu())
            bar.bar.update(len(x) * job.world[0])
    return torch.cat(chunks) if chunks else torch.zeros(0, 0)


def embed_rows(job: Job, start: int, stop: int, bar: Progress) -> np.ndarray:
    """Rows ``start:stop`` in order, gathered from every process onto every process."""
    world, rank = job.world
    local = _embed_local(job, list(range(start + rank, stop, world)), bar)
    if world == 1:
        return local.numpy()
    strategy, n = job.trainer.strategy, stop - start
    device = strategy.root_device
    width = int(strategy.reduce(torch.tensor(local.shape[1], device=device), reduce_op="max"))
    rows = (n + world - 1) // world
    padded = torch.zeros(rows, width, device=device)
    if len(local):
        padded[: len(local)] = local.to(device)
    gathered = strategy.all_gather(padded).cpu()  # (world, rows, width)
    out = torch.zeros(n, width)
    for r in range(world):
        idx = torch.arange(r, n, world)
        out[idx] = gathered[r, : len(idx)]
    return out.numpy()


def make_job(
    data: ImageCollection | Dataset,
    spec_or_encoder: EncoderLike,
    batch_size: int,
    num_workers: int | str,
    device: str | torch.device | None,
    precision: str,
    channels_last: bool,
    sidecar: Any,
    trainer: Any,
) -> tuple[Job, list[str] | None]:
    """The job for one call, on the trainer's device when one is given, and the encoder's concept
    names: a frozen encoder is built, moved (channels-last unless told otherwise) and run by its
    inference runtime when one was prepared; any other callable is run as it is."""
    if trainer is not None and (device is None or str(device) == "auto"):
        dev = trainer.strategy.root_device
    else:
        dev = resolve_device(device or "auto")
    num_workers = resolve_workers(num_workers, dev)
    if isinstance(spec_or_encoder, EncoderSpec):
        spec_or_encoder = spec_or_encoder.build()
    if isinstance(spec_or_encoder, Encoder):
        enc = spec_or_encoder.to(dev)
        channels_last = True if channels_last is None else channels_last
        if channels_last:
            enc = enc.to(memory_format=torch.channels_last)
        if isinstance(data, ImageCollection):
            tf = enc.transform if sidecar is None else sidecar.wrap(enc.transform)
            data = data.with_transform(tf)
        if (encode := getattr(enc, "runtime_encode", None)) is not None:  # plain NCHW arrays
            return Job(encode, data, enc.dim, batch_size, num_workers, dev, precision, False,
                        trainer, sidecar), enc.concept_names  # fmt: skip
        job = Job(enc.encode, data, enc.dim, batch_size, num_workers, dev, precision,
                   channels_last, trainer, sidecar)  # fmt: skip
        return job, enc.concept_names
    if not callable(spec_or_encoder):
        raise ValueError(
            f"expected an EncoderSpec, Encoder or callable, got {type(spec_or_encoder).__name__}"
        )
    fn = spec_or_encoder

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return fn(x), None

    channels_last = bool(channels_last)  # None: a model being trained keeps its own layout

    return Job(encode, data, None, batch_size, num_workers, dev, precision, channels_last,
                trainer), None  # fmt: skip
