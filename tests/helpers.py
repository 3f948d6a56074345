"""Tiny on-disk fixtures shared by tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def write_class_folders(
    root: Path,
    splits: list[str],
    n_classes: int,
    n_per_class: int,
    cifake: bool = False,
    size: int = 32,
    seed: int = 0,
) -> Path:
    """Write random JPEGs as ``split/<class>/i.jpg`` (or CIFAKE's ``split/REAL|FAKE/i (k).jpg``)."""
    rng = np.random.default_rng(seed)
    for split in splits:
        groups = ["REAL", "FAKE"] if cifake else CIFAR10_CLASSES[:n_classes]
        for g, group in enumerate(groups):
            d = root / split / group
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n_per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                pixels[..., g % 3] //= 2  # a weak class signal
                if cifake:
                    k = i % 10 + 1
                    name = f"{i}.jpg" if k == 1 else f"{i} ({k}).jpg"
                else:
                    name = f"{i:04d}.jpg"
                Image.fromarray(pixels).save(d / name, quality=95)
    return root


def run_gloo(script: Path, args: list[str], cwd: Path, env: dict[str, str], world: int = 2) -> None:
    """Run ``python script *args`` as ``world`` torch.distributed processes (env:// rendezvous on
    a free loopback port; the script calls ``init_process_group("gloo")``); fail on any error."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    rendezvous = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(world)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), *args],
            cwd=cwd,
            env={**env, **rendezvous, "RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for r in range(world)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]


def photo_scenes(n: int = 40, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Photo-like luminance images: smooth shading, two straight edges, fine texture; in
    [0.1, 0.9] (the native-step and blur tests' scenes)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = gaussian_filter(rng.normal(size=(size, size)), 3.0) * 4
        yy, xx = np.mgrid[:size, :size]
        for _ in range(2):
            a, b, c = rng.normal(size=3)
            y = y + 0.3 * (a * xx + b * yy > c * size / 2)
        y = y + 0.25 * gaussian_filter(rng.normal(size=(size, size)), 0.6)
        y = (y - y.min()) / (np.ptp(y) + 1e-9)
        out.append(0.1 + 0.8 * y)
    return out


def jpeg_round_trip(y: np.ndarray, q: int) -> np.ndarray:
    """A luminance image in [0, 1] through PIL's JPEG at quality ``q``."""
    import io

    buf = io.BytesIO()
    Image.fromarray((np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8), "L").save(
        buf, "JPEG", quality=q
    )
    return np.asarray(Image.open(buf), dtype=np.float64) / 255


def pen_strokes(n: int, seed: int) -> list[np.ndarray]:
    """Light pen strokes on black, 28 px (handwriting as MNIST stores it), drawn at 4x."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        im = Image.new("L", (112, 112), 0)
        draw = ImageDraw.Draw(im)
        for _ in range(int(rng.integers(2, 5))):
            pts = [tuple(p) for p in rng.uniform(12, 100, (4, 2))]
            draw.line(pts, fill=int(rng.integers(200, 256)), width=9, joint="curve")
        out.append(np.asarray(im.resize((28, 28), Image.LANCZOS), np.float64) / 255)
    return out
