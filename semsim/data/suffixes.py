"""File-name suffixes of the archives the ``archive`` source reads (light: the ``semsim`` command
reads them to map ``a=PATH.zip`` to ``a=archive`` before importing anything heavy)."""

ZIP_SUFFIXES: tuple[str, ...] = (".zip",)
TAR_SUFFIXES: tuple[str, ...] = (".tar",)
COMPRESSED_TAR_SUFFIXES: tuple[str, ...] = (
    ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
)  # fmt: skip
ARCHIVE_SUFFIXES: tuple[str, ...] = ZIP_SUFFIXES + TAR_SUFFIXES + COMPRESSED_TAR_SUFFIXES


def is_archive_name(path: object) -> bool:
    """True when ``path``'s name ends with a known archive suffix (case-insensitive)."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)
