"""The source registry: a source's name -> the function that builds its collection.

Adding a source is one module holding a function decorated with ``@register_source("name")``
(imported by ``semsim.data.sources``). Registration also makes it reachable from the command
line: Hydra's config groups ``a/NAME`` and ``b/NAME`` (``a=NAME``) are generated here as
aliases of ``collection/NAME``, and a source without a ``conf/collection/NAME.yaml`` gets a
``collection/NAME`` config generated from its function's signature (every option with its
default, built through :func:`open_source`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from semsim.data.collection import CollectionError, ImageCollection
from semsim.data.hydra_configs import forget_aliases, store_aliases
from semsim.utils import CONF_DIR

SourceFactory = Callable[..., ImageCollection]
F = TypeVar("F", bound=SourceFactory)

SOURCES: dict[str, SourceFactory] = {}


def register_source(name: str) -> Callable[[F], F]:
    """Decorator: register ``fn`` as source ``name`` (and its Hydra configs, see the module).

    The function takes the shared options (``root``, ``split``, ``classes``,
    ``max_per_class``, ``seed``, ``on_bad_image``) plus its own, all with defaults, and
    returns an :class:`ImageCollection`.
    """

    def decorate(fn: F) -> F:
        known = SOURCES.get(name)
        if known is not None and _target(known) != _target(fn):  # (a reload may re-register)
            raise ValueError(f"source {name!r} is already registered ({_target(known)})")
        SOURCES[name] = fn
        store_configs(name, fn)
        return fn

    return decorate


def unregister_source(name: str) -> None:
    """Forget source ``name`` and its generated configs (for tests and plugins)."""
    from hydra.core.config_store import ConfigStore

    fn = SOURCES.pop(name, None)
    forget_aliases(name)
    repo = ConfigStore.instance().repo
    generated = repo.get("collection", {}).get(f"{name}.yaml")
    if fn is not None and generated is not None and "_args_" in generated.node:
        repo["collection"].pop(f"{name}.yaml")


def get_source(name: str) -> SourceFactory:
    """The function registered as ``name``; an unknown name is an error listing the known."""
    try:
        return SOURCES[name]
    except KeyError:
        raise CollectionError(
            f"unknown source {name!r}; known sources: {', '.join(sorted(SOURCES))}"
        ) from None


def build_source(name: str, options: Mapping[str, Any] | None = None) -> ImageCollection:
    """Build source ``name``'s collection with ``options`` (unknown options are an error)."""
    fn = get_source(name)
    options = dict(options or {})
    accepted = set(inspect.signature(fn).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise CollectionError(
            f"{name}: unknown option(s) {unknown}; known: {', '.join(sorted(accepted))}"
        )
    return fn(**options)


def open_source(name: str, /, **options: Any) -> ImageCollection:
    """Hydra target of generated ``collection/NAME`` configs: :func:`build_source` by name
    (so a source works whatever module, or test, defines its function)."""
    return build_source(name, options)


def _target(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def default_config(name: str, fn: SourceFactory) -> dict[str, Any]:
    """``{"_target_": ..., "_args_": [name], option: default, ...}`` from ``fn``'s signature."""
    node: dict[str, Any] = {"_target_": f"{__name__}.open_source", "_args_": [name]}
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        node[p.name] = list(default) if isinstance(default, tuple) else default
    return node


def store_configs(name: str, fn: SourceFactory) -> None:
    """Put ``a/NAME``, ``b/NAME`` (and ``collection/NAME`` when no yaml holds it) into
    Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    if not os.path.isfile(os.path.join(CONF_DIR, "collection", f"{name}.yaml")):
        ConfigStore.instance().store(group="collection", name=name, node=default_config(name, fn))
    store_aliases([name])
