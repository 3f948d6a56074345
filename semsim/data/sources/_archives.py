"""Reading image archives in place (zip, tar, compressed tar); nothing is extracted to disk.

:func:`open_archive` lists an archive once and checks it before any image is read:

- a truncated or unreadable archive is an error naming it;
- a member name that is absolute or climbs out with ``..`` (path traversal) is an error naming
  the member: such an archive was made to overwrite files when unpacked;
- zip bombs: more than ``max_members`` members, an image member declaring more than
  ``max_member_bytes``, image members declaring more than ``max_bytes`` in all, or a member
  larger than 1 MiB that compresses more than ``max_ratio`` times, are errors. Reads never
  return more than a member declares (zip checks sizes and CRCs; tar reads exactly the size).

Symbolic links, hard links and devices in a tar (or links in a zip) are never followed: they
come back as members of kind ``"link"`` / ``"device"``, for the source to refuse or skip.

Reads are safe from threads and from forked DataLoader workers (each process reopens the file).
A compressed tar cannot be read at random, so its image members are read into memory in one
pass when it is opened (at most ``max_memory_bytes``; a bigger one is an error that suggests
decompressing it to a ``.tar``, which is read in place).
"""

from __future__ import annotations

import os
import stat
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from semsim.data.collection import CollectionError
from semsim.data.images import is_image_file
from semsim.data.suffixes import (
    ARCHIVE_SUFFIXES,
    COMPRESSED_TAR_SUFFIXES,
    TAR_SUFFIXES,
    ZIP_SUFFIXES,
    is_archive_name,
)

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds that refuse zip bombs (see the module docstring)."""

    max_members: int = 5_000_000
    max_member_bytes: int = 512 * MIB
    max_bytes: int = 256 * 1024 * MIB
    max_ratio: float = 200.0
    max_memory_bytes: int = 8 * 1024 * MIB


DEFAULT_LIMITS = Limits()


def is_archive(path: str | os.PathLike[str]) -> bool:
    """True when ``path``'s name ends with a known archive suffix (case-insensitive)."""
    return is_archive_name(path)


def wanted(name: str) -> bool:
    """An image member that a folder source would read: no hidden part (nor ``__MACOSX``)."""
    parts = name.split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return is_image_file(parts[-1])


class MemberError(Exception):
    """One member cannot be read (carries a one-line reason)."""


@dataclass(frozen=True)
class Member:
    """A listed archive entry: ``kind`` is ``"file"``, ``"link"`` or ``"device"``."""

    name: str
    size: int
    kind: str = "file"


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


def safe_name(archive: Path, name: str) -> str:
    """``name`` with ``/`` separators; an absolute or ``..`` name is an error."""
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if (
        clean.startswith("/")
        or (len(clean) > 1 and clean[1] == ":")
        or ".." in parts
        or "\x00" in clean
    ):
        raise CollectionError(
            f"{archive}: unsafe member name {name!r} (absolute or with '..': a path traversal); "
            "refusing to read this archive"
        )
    return clean.rstrip("/")


class Archive:
    """An opened archive: ``members`` (every entry but folders) and ``read(name) -> bytes``."""

    kind = "archive"

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self.members: list[Member] = []
        self._pid: int | None = None
        self._handle: Any = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self, name: str) -> bytes:
        raise NotImplementedError

    def _check(self, members: list[Member], compressed: dict[str, int] | None = None) -> None:
        """Apply the limits to the listing (declared sizes)."""
        lim = self.limits
        if len(members) > lim.max_members:
            raise CollectionError(
                f"{self.path}: {len(members)} members, more than the limit of {lim.max_members} "
                "(a zip bomb?)"
            )
        total = 0
        for m in members:
            if m.kind != "file" or not wanted(m.name):
                continue
            if m.size > lim.max_member_bytes:
                raise CollectionError(
                    f"{self.path}: member {m.name} declares {m.size} bytes, more than the limit "
                    f"of {lim.max_member_bytes} for one image (a zip bomb?)"
                )
            packed = (compressed or {}).get(m.name)
            if packed is not None and m.size > MIB and m.size > lim.max_ratio * max(packed, 1):
                raise CollectionError(
                    f"{self.path}: member {m.name} expands {m.size / max(packed, 1):.0f} times "
                    f"({packed} -> {m.size} bytes), more than the limit of {lim.max_ratio:g} "
                    "(a zip bomb?)"
                )
            total += m.size
            if total > lim.max_bytes:
                raise CollectionError(
                    f"{self.path}: image members declare more than {lim.max_bytes} bytes in all "
                    "(a zip bomb?)"
                )
        self.members = members

    def _opened(self) -> Any:
        """This process's open handle (reopened after a fork)."""
        if self._pid != os.getpid() or self._handle is None:
            self._lock = threading.Lock()
            self._handle = self._open()
            self._pid = os.getpid()
        return self._handle

    def _open(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_pid=None, _handle=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class ZipArchive(Archive):
    kind = "zip"

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(path, limits)
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise CollectionError(
                f"{path}: cannot read the zip archive ({_reason(error)}); truncated or not a zip?"
            ) from None
        members, packed = [], {}
        self._encrypted: set[str] = set()
        self._names: dict[str, str] = {}  # clean name -> name in the zip
        for info in infos:
            name = safe_name(path, info.filename)
            if info.is_dir() or not name:
                continue
            mode = info.external_attr >> 16
            kind = "link" if stat.S_ISLNK(mode) else "file"
            members.append(Member(name, info.file_size, kind))
            packed[name] = info.compress_size
            self._names[name] = info.filename
            if info.flag_bits & 0x1:
                self._encrypted.add(name)
        self._check(members, packed)

    def _open(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(self.path)

    def read(self, name: str) -> bytes:
        if name in self._encrypted:
            raise MemberError("encrypted member (not supported)")
        try:
            zf = self._opened()
            with self._lock, zf.open(self._names[name]) as f:
                data = f.read(self.limits.max_member_bytes + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as error:
            raise MemberError(_reason(error)) from None
        except Exception as error:  # zlib.error, lzma/bz2 errors on a corrupt stream
            raise MemberError(_reason(error)) from None
        if len(data) > self.limits.max_member_bytes:  # pragma: no cover - zipfile caps it
            raise MemberError("member larger than the per-image limit (a zip bomb?)")
        return data


def _tar_member(path: Path, info: tarfile.TarInfo) -> Member | None:
    """The listing entry of ``info`` (``None`` for a folder)."""
    name = safe_name(path, info.name)
    if info.isdir() or not name:
        return None
    if info.issym() or info.islnk():
        return Member(name, 0, "link")
    if info.isfile():
        return Member(name, info.size)
    return Member(name, 0, "device")  # character or block device, fifo, contiguous file


class TarArchive(Archive):
    """An uncompressed tar: members are read at their offsets (``os.pread``)."""

    kind = "tar"

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(path, limits)
        self._offsets: dict[str, tuple[int, int]] = {}
        size = os.path.getsize(path)
        members = []
        try:
            with tarfile.open(path, "r:") as tf:
                for info in tf:
                    member = _tar_member(path, info)
                    if member is None:
                        continue
                    if member.kind == "file" and info.offset_data + info.size > size:
                        raise CollectionError(
                            f"{path}: truncated tar archive (member {member.name} ends at byte "
                            f"{info.offset_data + info.size}, the file has {size})"
                        )
                    members.append(member)
                    self._offsets[member.name] = (info.offset_data, info.size)
                    if len(members) > limits.max_members:
                        break
                else:
                    end = tf.offset  # a whole tar ends with two zero blocks
                    with open(path, "rb") as f:
                        f.seek(end)
                        if f.read(1024) != bytes(1024):
                            raise CollectionError(
                                f"{path}: truncated tar archive (no end-of-archive marker after "
                                f"byte {end})"
                            )
        except (tarfile.TarError, OSError, EOFError) as error:
            raise CollectionError(
                f"{path}: cannot read the tar archive ({_reason(error)}); truncated or not a tar?"
            ) from None
        self._check(members)

    def _open(self) -> int:
        return os.open(self.path, os.O_RDONLY)

    def read(self, name: str) -> bytes:
        offset, size = self._offsets[name]
        try:
            data = os.pread(self._opened(), size, offset)
        except OSError as error:
            raise MemberError(_reason(error)) from None
        if len(data) != size:
            raise MemberError(f"truncated: {len(data)} of {size} bytes")
        return data

    def __del__(self) -> None:
        if isinstance(self._handle, int) and self._pid == os.getpid():
            os.close(self._handle)


class CompressedTarArchive(Archive):
    """A ``.tar.gz`` / ``.tgz`` / ``.tar.bz2`` / ``.tar.xz``: image members read into memory."""

    kind = "compressed tar"

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(path, limits)
        self._data: dict[str, bytes] = {}
        members: list[Member] = []
        held = 0
        current = "(headers)"
        try:
            with tarfile.open(path, "r|*") as tf:
                for info in tf:
                    member = _tar_member(path, info)
                    if member is None:
                        continue
                    members.append(member)
                    if len(members) > limits.max_members:
                        break
                    self._check([member])  # bounds before reading its data
                    name = member.name
                    if member.kind != "file" or not wanted(name):
                        continue
                    held += info.size
                    if held > limits.max_memory_bytes:
                        raise CollectionError(
                            f"{path}: its images hold more than {limits.max_memory_bytes} bytes, "
                            "too many to hold in memory; decompress it to a .tar (read in place)"
                        )
                    current = name
                    f = tf.extractfile(info)
                    self._data[name] = b"" if f is None else f.read(info.size)
                    current = "(headers)"
        except CollectionError:
            raise
        except Exception as error:  # tarfile, gzip, zlib, bz2, lzma, EOF errors
            raise CollectionError(
                f"{path}: cannot read the compressed tar archive at member {current} "
                f"({_reason(error)}); truncated or corrupt?"
            ) from None
        self._check(members)

    def read(self, name: str) -> bytes:
        return self._data[name]


def open_archive(path: Path, limits: Limits | None = None) -> Archive:
    """Open and check the archive at ``path`` (its kind from its name)."""
    limits = limits or DEFAULT_LIMITS
    if not path.is_file():
        raise CollectionError(
            f"{path}: not a file (archives end with {', '.join(ARCHIVE_SUFFIXES)})"
        )
    name = path.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        return ZipArchive(path, limits)
    if name.endswith(TAR_SUFFIXES):
        return TarArchive(path, limits)
    if name.endswith(COMPRESSED_TAR_SUFFIXES):
        return CompressedTarArchive(path, limits)
    raise CollectionError(
        f"{path}: not a known archive (names end with {', '.join(ARCHIVE_SUFFIXES)})"
    )
