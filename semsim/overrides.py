"""Check Hydra overrides against the composed config before anything heavy runs.

Hydra's own errors for a typo are several lines, exit with status 1 and sometimes give advice that
fails (``To append to your config use +a.max_per_clas=50``). :func:`check_overrides` composes the
config the way the entry point will, and turns every mistake into one :class:`UsageError` naming
the option, with the nearest valid name when there is one:

- a line that is not ``key=value`` (or a value Hydra cannot parse);
- an unknown group choice (``a=fodler``) or a group the command does not use (``data=`` in
  ``compare``);
- an unknown key (``outdir=``, ``a.max_per_clas=``), or a key under a collection that is not set
  (``b.root=`` without ``b=``);
- a value of the wrong type for its default (``seed=abc``, ``batch_size=1.5``, ``scores=fd``),
  and a key given no value (``out_dir=``);
- a required value left unset (``a=folder`` without ``a.root``).

Nothing here imports torch; a check costs two compositions (0.2-0.5 s each on 2 cores), three when
a group choice is wrong (the config without overrides names the option at fault).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from semsim.utils import CONF_DIR, UsageError, did_you_mean


def config_loader():
    """Hydra's config loader over ``conf/`` with every registered source's configs stored."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    import semsim.data  # noqa: F401 - light; registers every source and its configs (a=NAME)

    return ConfigLoaderImpl(config_search_path=create_config_search_path(CONF_DIR))


def _compose(loader, config_name: str, overrides: list[str]) -> DictConfig:
    from hydra.types import RunMode

    try:
        return loader.load_configuration(
            config_name=config_name, overrides=overrides, run_mode=RunMode.RUN
        )
    except UsageError:
        raise
    except Exception as err:  # Hydra/OmegaConf errors: keep the first meaningful lines
        lines = [
            ln.strip() for ln in str(err).splitlines()
            if ln.strip() and not ln.strip().startswith(("To append", "full_key", "object_type"))
        ]  # fmt: skip
        raise UsageError(" ".join(lines[:2]) or type(err).__name__) from err


def _keys(node: DictConfig) -> list[str]:
    """Every key, those with a missing (``???``) value included (``in`` would skip them)."""
    return [str(k) for k in node.keys()]  # noqa: SIM118


def _flat_keys(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, DictConfig) and not node._is_none():
        for key in _keys(node):
            path = f"{prefix}{key}"
            yield path
            if key != "hydra" or prefix:
                yield from _flat_keys(node._get_node(key), path + ".")


def _all_groups(loader, parent: str = "") -> list[str]:
    out = []
    for name in loader.list_groups(parent):
        group = f"{parent}/{name}" if parent else name
        out.append(group)
        out += _all_groups(loader, group)
    return out


def _first_value(override) -> list[str]:
    """The override's text with a sweep replaced by its first element (compose takes no sweeps)."""
    if not override.is_sweep_override():
        return [override.input_line]
    first = next(override.sweep_string_iterator(), None)
    return [] if first is None else [f"{override.get_key_element()}={first}"]


def _values(override) -> list[Any] | None:
    """The values an override sets (each element of a choice sweep); None: not checkable."""
    from hydra.core.override_parser.types import ChoiceSweep

    value = override.value()
    if isinstance(value, ChoiceSweep):
        return list(value.list)
    if override.is_sweep_override():
        return None
    return [value]


def _type_error(key: str, old: Any, new: Any) -> str | None:
    """Why ``new`` cannot replace the default ``old`` of ``key``, or None."""
    if new is None or old is None or (isinstance(new, str) and new.startswith("${")):
        return None
    if isinstance(old, bool):
        ok, want = isinstance(new, bool), "true or false"
    elif isinstance(old, int):
        ok, want = isinstance(new, int) and not isinstance(new, bool), "an integer"
    elif isinstance(old, float):
        ok, want = isinstance(new, int | float) and not isinstance(new, bool), "a number"
    elif isinstance(old, list):
        ok, want = isinstance(new, list), f"a list, e.g. {key}=[{new}]"
    elif isinstance(old, dict):
        ok, want = isinstance(new, dict), "a mapping {k: v, ...}"
    else:
        ok, want = not isinstance(new, list | dict), "a single value"
    return None if ok else f"{key}: expected {want}, got `{new}`"


def _lookup(cfg: DictConfig, key: str, groups: Sequence[str]) -> Any:
    """The default value at dotted ``key``; UsageError naming the key when there is none."""
    node: Any = cfg
    parts = key.split(".")
    for i, part in enumerate(parts):
        where = ".".join(parts[:i])
        if isinstance(node, ListConfig) and part.isdigit() and int(part) < len(node):
            node = node._get_node(int(part))
            continue
        if not isinstance(node, DictConfig):
            raise UsageError(f"{key}: `{where}` is a value, not a group of options")
        if node._is_none():
            hint = f" (e.g. {where}=folder {key}=...)" if where in ("a", "b") else ""
            raise UsageError(f"{key}: `{where}` is not set; choose it first{hint}")
        if part not in _keys(node):
            if not where and part in groups:
                hint = f" (e.g. {part}=folder {key}=...)" if part in ("a", "b") else ""
                raise UsageError(f"{key}: `{part}` is not set; choose it first{hint}")
            raise UsageError(f"unknown option `{key}`" + _suggest(cfg, key, node, where, groups))
        node = node._get_node(part)
    if isinstance(node, DictConfig | ListConfig):
        return None if node._is_none() else OmegaConf.to_container(node, resolve=False)
    value = node._value()
    return None if value == "???" or node._is_interpolation() else value


def _suggest(cfg: DictConfig, key: str, node: DictConfig, where: str, groups: Sequence[str]) -> str:
    prefix = f"{where}." if where else ""
    siblings = [prefix + str(k) for k in _keys(node)] + ([] if where else list(groups))
    hint = did_you_mean(key, siblings)
    if hint:
        return hint
    leaf = key.rsplit(".", 1)[-1]
    flat = [k for k in _flat_keys(cfg) if not k.startswith("hydra.")]
    same_leaf = [k for k in flat if k.rsplit(".", 1)[-1] == leaf]
    if same_leaf:
        return f"; did you mean `{same_leaf[0]}`?"
    return did_you_mean(key, flat)


def _missing(cfg: DictConfig) -> Iterator[str]:
    for key in _flat_keys(cfg):
        if key.startswith("hydra") or "." not in key and key == "hydra":
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if isinstance(node, DictConfig) and OmegaConf.is_missing(node, leaf):
            yield key


def _check_groups(loader, config_name: str, group_overrides: list) -> None:
    """UsageError naming the first group choice that is not an option of ``config_name`` or
    not a choice of its group (compared with the config composed without overrides)."""
    from hydra.core.object_type import ObjectType

    base = _compose(loader, config_name, [])
    used = [str(g) for g in _keys(base.hydra.runtime.choices)]
    user_groups = [g for g in used if not g.startswith("hydra") and "@" not in g]
    for ov in group_overrides:
        group = ov.key_or_group
        if group not in used and not ov.is_add() and not ov.is_force_add():
            raise UsageError(
                f"`{group}` is not an option of `{config_name}`"
                + (did_you_mean(group, user_groups) or f" (its groups: {', '.join(user_groups)})")
            )
        options = loader.get_group_options(group, results_filter=ObjectType.CONFIG)
        for value in (_values(ov) or []) if not ov.is_delete() else []:
            if value is not None and str(value) not in options:
                raise UsageError(
                    f"{group}={value}: no such choice for `{group}`"
                    + (did_you_mean(str(value), options) or "")
                    + f" (choose one of: {', '.join(options)})"
                )


def check_overrides(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides``; raise UsageError on any mistake.

    Returns:
        The composed config (sweeps replaced by their first value; nothing resolved).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        if "=" not in text and not text.startswith("~"):
            raise UsageError(f"`{text}` has no value: write {text}=VALUE")
        try:
            parsed.append(parser.parse_override(text))
        except HydraException as err:
            first = str(err).strip().splitlines()[-1].strip()
            raise UsageError(f"cannot read `{text}`: {first}") from err

    loader = config_loader()
    all_groups = _all_groups(loader)
    group_overrides = [ov for ov in parsed if ov.key_or_group in all_groups]
    value_overrides = [ov for ov in parsed if ov.key_or_group not in all_groups]
    group_lines = [line for ov in group_overrides for line in _first_value(ov)]
    if any(ov.is_sweep_override() for ov in group_overrides):
        _check_groups(loader, config_name, group_overrides)  # every value, not only the first
    try:  # the usual case: Hydra accepts the choices; the base config is composed only if not
        cfg = _compose(loader, config_name, group_lines)
    except UsageError as hydra_error:
        _check_groups(loader, config_name, group_overrides)  # the option at fault, by name
        raise hydra_error
    groups_now = [
        str(g) for g in _keys(cfg.hydra.runtime.choices) if not str(g).startswith("hydra")
    ]
    for ov in value_overrides:
        key = ov.key_or_group
        if ov.is_add() or ov.is_force_add():
            continue
        old = _lookup(cfg, key, groups_now)
        if ov.is_delete():
            continue
        text_value = ov.input_line.split("=", 1)[1] if "=" in ov.input_line else ""
        if text_value == "" and old != "":
            raise UsageError(f"`{key}=` has no value: write {key}=VALUE")
        for value in _values(ov) or []:
            problem = _type_error(key, old, value)
            if problem:
                raise UsageError(problem)

    if value_overrides:  # group choices alone: the config composed above is the answer
        cfg = _compose(loader, config_name, [line for ov in parsed for line in _first_value(ov)])
    for key in _missing(cfg):
        raise UsageError(f"`{key}` has no value: give {key}=VALUE")
    return cfg
