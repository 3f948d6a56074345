"""Decoding image files into RGB, finding image files, and checking them.

Every file-based collection loads its pixels through :func:`decode_file`, so all sources agree on
how odd images become RGB:

- EXIF orientation is applied (``PIL.ImageOps.exif_transpose``).
- Grayscale (``L``, ``1``), palette (``P``), CMYK, YCbCr, LAB and HSV convert with Pillow.
- 16-bit grayscale (``I;16*``, and ``I`` as Pillow opens some 16-bit PNG/TIFF) scales
  ``0..65535`` to ``0..255`` by ``round(v / 257)``; values outside that range clip. Float
  images (``F``) are taken as ``0..1`` when their maximum is at most 1, else as ``0..255``.
- Transparency (``RGBA``, ``LA``, ``PA``, palette or grayscale images with a transparent
  colour) is composited over a white background, the way an image viewer shows it, so a
  transparent region never turns into arbitrary hidden colours.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from semsim.data.exclude import is_excluded

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".bmp",
        ".gif",
        ".webp",
        ".tif",
        ".tiff",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
    }
)

_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


class ImageDecodeError(Exception):
    """A file could not be decoded as an image (carries a one-line reason)."""


def io_workers() -> int:
    """Threads for file I/O and decoding: enough to hide latency, few enough to stay polite."""
    return max(4, min(16, 2 * (os.cpu_count() or 1)))


def is_image_file(name: str) -> bool:
    """True for a non-hidden file name with a known image extension (case-insensitive)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a loaded PIL image of any mode to 8-bit RGB (see the module docstring)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _SIXTEEN_BIT:
        values = np.asarray(image).astype(np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "F":
        values = np.asarray(image).astype(np.float64)
        if values.size and np.nanmax(values) <= 1.0:
            values = values * 255.0
        gray = np.clip(np.rint(np.nan_to_num(values)), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode in _ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


def decode_file(path: str | os.PathLike[str] | io.BytesIO) -> Image.Image:
    """Open, fully decode and convert ``path`` (a file, or a file object) to RGB.

    Raises:
        ImageDecodeError: when the file is missing, not an image, corrupt or truncated.
    """
    try:
        with Image.open(path) as image:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            rgb = to_rgb(image)
            return image.copy() if rgb is image else rgb
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        raise ImageDecodeError(_one_line(error)) from error


def decode_bytes(data: bytes) -> Image.Image:
    """:func:`decode_file` of an image held in memory (an archive member, a dataset cell)."""
    return decode_file(io.BytesIO(data))


def check_file(path: str | io.BytesIO) -> str | None:
    """The reason ``path`` (a file, or a file object) cannot be decoded, or ``None``."""
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as error:
        return _one_line(error)
    return None


def _check_many(paths: Sequence[str]) -> list[str | None]:
    return [check_file(p) for p in paths]


def find_bad_images(paths: Sequence[str]) -> dict[int, str]:
    """Decode every file (in a thread pool) and return ``{index: reason}`` for the bad ones."""
    if not paths:
        return {}
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    with ThreadPoolExecutor(max_workers=io_workers()) as pool:
        reasons = [r for block in pool.map(_check_many, chunks) for r in block]
    return {i: r for i, r in enumerate(reasons) if r is not None}


def _raise(error: OSError) -> None:
    raise error


def iter_files(root: Path) -> Iterator[Path]:
    """All non-hidden files below ``root``, recursively, following directory symlinks once
    (a link back to a folder already walked, e.g. a loop, is not entered again).

    Raises:
        OSError: naming (``filename``) a folder that cannot be listed, e.g. PermissionError.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not is_excluded(Path(dirpath) / d)
        )
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _read_many(paths: Sequence[str]) -> list[bytes]:
    out = []
    for path in paths:
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def read_files(paths: Sequence[str], chunk: int = 256) -> Iterator[bytes]:
    """Yield the bytes of each file in order, reading ahead in a thread pool (in chunks, so
    that 50,000 small files cost a few hundred tasks rather than 50,000)."""
    if not paths:
        return
    chunks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    with ThreadPoolExecutor(max_workers=io_workers()) as pool:
        for block in pool.map(_read_many, chunks):
            yield from block
