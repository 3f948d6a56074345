"""Hydra configs that are generated rather than written, one set per registered source.

A source registered with :func:`semsim.data.sources.register_source` gets, in Hydra's
ConfigStore:

- ``collection/NAME``: its options with their defaults, read from the function's signature
  (only when no ``conf/collection/NAME.yaml`` gives other defaults or documents them);
- ``a/NAME`` and ``b/NAME``: ``a=NAME`` / ``b=NAME`` on the ``compare`` command line (each places
  ``collection/NAME`` at ``a`` or ``b``);
- ``data/NAME``: ``data=NAME`` for training (the collection plus ``data/datamodule/default``
  and the source's ``training`` differences), unless a ``conf/data/NAME.yaml`` exists.

This module is light (no torch): the ``semsim`` command composes and checks a command line with
these configs before importing anything heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semsim.utils import CONF_DIR

#: the config groups that select a collection on the command line (``a=NAME``, ``b=NAME``)
ALIAS_GROUPS: tuple[str, ...] = ("a", "b")
#: the config group of training data (``data=NAME``)
DATA_GROUP = "data"


def has_yaml(group: str, name: str) -> bool:
    """Whether ``conf/<group>/<name>.yaml`` exists (it then wins over a generated config)."""
    return Path(CONF_DIR, group, f"{name}.yaml").is_file()


def training_config(name: str, training: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The generated ``data/NAME`` node: collection ``NAME`` + the datamodule defaults, then the
    source's own ``training`` differences (e.g. ``{"datamodule": {"num_workers": 0}}``)."""
    node: dict[str, Any] = {
        "defaults": [{"/collection@_here_": name}, {"datamodule": "default"}, "_self_"],
        "seed": "${oc.select:seed,0}",
    }
    for key, value in (training or {}).items():
        node[key] = dict(value) if isinstance(value, Mapping) else value
    return node


def store_source(
    name: str,
    collection: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
) -> None:
    """Store the configs of source ``name`` (see the module).

    Args:
        name: the source's registered name.
        collection: its generated ``collection/NAME`` node (used when no yaml holds it).
        training: its differences from the datamodule defaults for ``data=NAME``.
    """
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    if collection is not None and not has_yaml("collection", name):
        store.store(group="collection", name=name, node=dict(collection))
    for group in ALIAS_GROUPS:
        store.store(
            group=group, name=name, node={"defaults": [{"/collection@_here_": name}, "_self_"]}
        )
    if not has_yaml(DATA_GROUP, name):
        store.store(group=DATA_GROUP, name=name, node=training_config(name, training))


def forget_source(name: str) -> None:
    """Remove every config :func:`store_source` generated for ``name``."""
    from hydra.core.config_store import ConfigStore

    repo = ConfigStore.instance().repo
    for group in (*ALIAS_GROUPS, DATA_GROUP, "collection"):
        repo.get(group, {}).pop(f"{name}.yaml", None)
