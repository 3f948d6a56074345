"""The source registry, the one discovery point of sources: name -> the function that builds
its collection.

Adding a source is one module in ``semsim/data/sources/`` holding a function decorated with
``@register_source("name")``; :func:`discover` imports every module of the folder (and of the
``semsim.sources`` entry-point group, for sources shipped by other packages), so nothing else
lists it. Registration makes it reachable everywhere: Hydra's ``a=NAME`` / ``b=NAME`` for
``compare``, ``data=NAME`` for training, and a ``collection/NAME`` config generated from the
function's signature (every option with its default, built through :func:`open_source`) when no
``conf/collection/NAME.yaml`` sets other defaults (see :mod:`semsim.data.hydra_configs`). The
``semsim`` help, the overrides checker and the docs tables read the names from here.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from semsim.data.collection import CollectionError, ImageCollection
from semsim.data.hydra_configs import forget_source, store_source

SourceFactory = Callable[..., ImageCollection]
F = TypeVar("F", bound=SourceFactory)

SOURCES: dict[str, SourceFactory] = {}
#: entry-point group through which an installed package adds sources (each entry a module)
ENTRY_POINT_GROUP = "semsim.sources"


def register_source(name: str, *, training: Mapping[str, Any] | None = None) -> Callable[[F], F]:
    """Decorator: register ``fn`` as source ``name`` (and its Hydra configs, see the module).

    The function takes the shared options (``root``, ``split``, ``classes``,
    ``max_per_class``, ``seed``, ``on_bad_image``) plus its own, all with defaults, and
    returns an :class:`ImageCollection`; the first sentence of its docstring is its line in
    ``semsim compare --help`` and in the docs.

    Args:
        name: the name on the command line (``a=NAME``, ``data=NAME``).
        training: how ``data=NAME`` differs from the datamodule defaults
            (``conf/data/datamodule/default.yaml``), e.g. ``{"datamodule": {"num_workers": 0}}``.
    """

    def decorate(fn: F) -> F:
        known = SOURCES.get(name)
        if known is not None and _target(known) != _target(fn):  # (a reload may re-register)
            raise ValueError(f"source {name!r} is already registered ({_target(known)})")
        SOURCES[name] = fn
        store_source(name, default_config(name, fn), training)
        return fn

    return decorate


def unregister_source(name: str) -> None:
    """Forget source ``name`` and its generated configs (for tests and plugins)."""
    SOURCES.pop(name, None)
    forget_source(name)


def discover() -> dict[str, SourceFactory]:
    """Import every source module (this package's, then the ``semsim.sources`` entry points);
    each registers itself. Returns :data:`SOURCES`. The folder is listed on every call (a module
    added since is seen); installed packages are read once."""
    importlib.invalidate_caches()
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and info.name != "registry":
            importlib.import_module(f"{__package__}.{info.name}")
    _load_entry_points()
    return SOURCES


@functools.cache
def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as err:  # a broken plug-in must not stop the built-in sources
            import warnings

            warnings.warn(f"semsim source plug-in {entry.value!r}: {err}", stacklevel=2)


def describe(fn: SourceFactory) -> str:
    """The first sentence of ``fn``'s docstring (its line in the help and the docs)."""
    doc = inspect.getdoc(fn) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split()).replace("``", "`")
    return paragraph.split(". ")[0].rstrip(".")


def source_name(node: Mapping[str, Any]) -> str:
    """The source a collection config builds: ``_args_[0]`` of a generated config, else the
    last part of its ``_target_``."""
    target = str(node.get("_target_", ""))
    args = node.get("_args_")
    if target == f"{__name__}.open_source" and args:
        return str(args[0])
    return target.rsplit(".", 1)[-1]


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
