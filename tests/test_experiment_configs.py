"""Experiments are diffs: every value an experiment file sets differs from what the defaults it
selects would give without it (conf/experiment/*.yaml restate nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from omegaconf import OmegaConf

from tests.conftest import CONF_DIR

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def _leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        out = []
        for k, v in node.items():
            out += _leaves(v, f"{path}.{k}" if path else str(k))
        return out
    return [(path, node)]


def _get(cfg: dict, path: str) -> Any:
    for k in path.split("."):
        if not isinstance(cfg, dict) or k not in cfg:
            return "<absent>"
        cfg = cfg[k]
    return cfg


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_holds_only_differences_from_its_defaults(name: str):
    raw = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "experiment" / f"{name}.yaml"))
    groups = []
    for entry in raw.pop("defaults", []):
        ((key, value),) = entry.items()
        key = key.removeprefix("override ").lstrip("/")
        groups.append(f"{key}={value}" if "@" not in key else f"+{key}={value}")
    base = OmegaConf.to_container(_compose(groups), resolve=False)
    full = OmegaConf.to_container(_compose([f"experiment={name}"]), resolve=False)
    restated = []
    for path, value in _leaves(raw):
        assert _get(full, path) == value, f"{path} is not what the experiment sets"
        if _get(base, path) == value:
            restated.append(f"{path}: {value!r}")
    assert not restated, f"experiment/{name}.yaml restates defaults: {restated}"


def test_cifake_cpu_selects_the_encoder_config_instead_of_copying_it():
    text = (CONF_DIR / "experiment" / "cifake_cpu.yaml").read_text()
    assert "/encoder@callbacks.realfake.encoder: effnet_lite0" in text
    assert "_target_" not in text
    cfg = _compose(["experiment=cifake_cpu"])
    enc = OmegaConf.load(CONF_DIR / "encoder" / "effnet_lite0.yaml")
    got = cfg.callbacks.realfake.encoder
    assert {k: got[k] for k in enc if k != "image_size"} == {
        k: enc[k] for k in enc if k != "image_size"
    }
    assert got.image_size == 128
