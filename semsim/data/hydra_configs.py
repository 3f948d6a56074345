"""Hydra configs that are generated rather than written: the ``a`` / ``b`` source aliases.

``a=cifar10`` on the command line needs a config ``a/cifar10`` that places
``collection/cifar10`` at ``a``. Instead of one alias file per source and group, they are put
into Hydra's ConfigStore here, one pair per ``conf/collection/*.yaml`` (and, through
:func:`semsim.data.sources.register_source`, per source registered in code). This module is
light (no torch): ``import semsim.data`` runs :func:`store_aliases`, so the ``semsim`` command
can compose and check a command line before importing anything heavy.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from semsim.utils import CONF_DIR

#: the config groups that select a collection on the command line (``a=NAME``, ``b=NAME``)
ALIAS_GROUPS: tuple[str, ...] = ("a", "b")


def collection_names() -> list[str]:
    """The sources that have a ``conf/collection/NAME.yaml``."""
    return sorted(p.stem for p in Path(CONF_DIR, "collection").glob("*.yaml"))


def store_aliases(names: Iterable[str] | None = None) -> None:
    """Store ``a/NAME`` and ``b/NAME`` (each ``defaults: [/collection@_here_: NAME]``).

    Args:
        names: the sources; default: every ``conf/collection/*.yaml``.
    """
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name in collection_names() if names is None else names:
        for group in ALIAS_GROUPS:
            store.store(
                group=group, name=name, node={"defaults": [{"/collection@_here_": name}, "_self_"]}
            )


def forget_aliases(name: str) -> None:
    """Remove ``a/NAME`` and ``b/NAME`` from the ConfigStore."""
    from hydra.core.config_store import ConfigStore

    repo = ConfigStore.instance().repo
    for group in ALIAS_GROUPS:
        repo.get(group, {}).pop(f"{name}.yaml", None)
