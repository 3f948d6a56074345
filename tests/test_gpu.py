"""CUDA paths of extraction: fp32, bf16/fp16 autocast, channels-last and pinned non-blocking
transfers run and agree with the CPU fp32 features. Skipped without a GPU (``-m gpu``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semsim.data.collection import ArrayCollection
from semsim.encoders import EncoderSpec
from semsim.features import extract_features

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

SPEC = EncoderSpec("tf_efficientnet_lite0", image_size=128)  # packaged ImageNet weights


def _collection(n: int = 96) -> ArrayCollection:
    rng = np.random.default_rng(0)
    return ArrayCollection(rng.integers(0, 256, (n, 48, 48, 3), dtype=np.uint8), name="gpu-rand")


def _features(device: str, **kw) -> np.ndarray:  # noqa: ANN003
    kw.setdefault("num_workers", 0)
    col = _collection()
    return extract_features(col, SPEC, batch_size=32, device=device, progress=False, **kw).features


def _cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def cpu_fp32() -> np.ndarray:
    return _features("cpu")


def test_cuda_fp32_matches_cpu(cpu_fp32: np.ndarray) -> None:
    # cuDNN may use TF32 convolutions: agreement to ~1e-3 relative, not bit-for-bit
    got = _features("cuda")
    scale = np.abs(cpu_fp32).max()
    assert np.abs(got - cpu_fp32).max() <= 5e-3 * scale
    assert _cosine_rows(got, cpu_fp32).min() > 0.9999


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_autocast_matches_fp32(cpu_fp32: np.ndarray, precision: str) -> None:
    got = _features("cuda", precision=precision)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    assert _cosine_rows(got, cpu_fp32).min() > 0.995, precision


def test_channels_last_and_pinned_workers_match(cpu_fp32: np.ndarray) -> None:
    # num_workers > 0 on CUDA: pinned host batches, non-blocking copies
    got = _features("cuda", channels_last=True, num_workers=2)
    assert _cosine_rows(got, cpu_fp32).min() > 0.9999
    cl_bf16 = _features("cuda", channels_last=True, precision="bf16-mixed")
    assert _cosine_rows(cl_bf16, cpu_fp32).min() > 0.995
