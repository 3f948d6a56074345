"""What the feature-cache key needs from timm, without importing timm.

Naming cached features takes three facts about a timm model: that the name exists, its eval
preprocessing (timm's resolved data config) and the vocabulary tag of its classification head; the
memory estimate that picks streaming mode takes two more, the feature and head dimensions.
Importing timm for them costs ~4 s of CPU here (timm pulls in torchvision and ``torch._dynamo``),
most of a compare on cached features before its first score. So the facts of the models named by
``conf/encoder/*.yaml`` are shipped in ``data/timm_facts.json``, written for one timm version by

    python -m semsim.encoders.timm_facts

and used only while that exact timm version is installed (read with ``importlib.metadata``, no
import); any other model or version asks timm itself. ``tests/test_timm_facts.py`` checks the
table against live timm.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).resolve().parent / "data" / "timm_facts.json"
_TUPLES = ("input_size", "mean", "std")


def timm_version() -> str:
    """The installed timm's version, from its package metadata (timm is not imported)."""
    return importlib.metadata.version("timm")


@functools.cache
def _table() -> dict[str, Any]:
    try:
        table = json.loads(FACTS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return table if isinstance(table, dict) else {}


def shipped(name: str) -> dict[str, Any] | None:
    """``{"data_config", "concept_tag", "dims": (D, C)}`` of timm model ``name`` from the shipped
    table, or None when the table is for another timm version or lacks the model."""
    table = _table()
    if table.get("timm") != timm_version():
        return None
    facts = table.get("models", {}).get(name)
    if not isinstance(facts, dict):
        return None
    config = dict(facts["data_config"])
    for key in _TUPLES:  # JSON lists back to the tuples timm returns
        if isinstance(config.get(key), list):
            config[key] = tuple(config[key])
    dims = facts.get("dims")
    return {
        "data_config": config,
        "concept_tag": facts.get("concept_tag"),
        "dims": None if dims is None else (int(dims[0]), int(dims[1])),
    }


def live(name: str) -> dict[str, Any]:
    """The same facts asked of timm (imports it)."""
    from semsim.encoders.backbone import feature_dim, resolve_data_config
    from semsim.encoders.encoder import concept_vocabulary

    concepts = concept_vocabulary(name)
    dim = feature_dim(name)
    return {
        "data_config": resolve_data_config(name, None, use_table=False),
        "concept_tag": None if concepts is None else concepts[0],
        "dims": (dim, 0 if concepts is None else len(concepts[1])),
    }


def _config_models() -> list[str]:
    from semsim.encoders.registry import known_keys, network

    return sorted(name for name in known_keys() if network(name) is None)


def write_table(path: Path = FACTS_FILE) -> dict[str, Any]:
    """Write the facts of every timm model in ``conf/encoder/*.yaml`` for the installed timm."""
    models = {}
    for name in _config_models():
        facts = live(name)
        config = {
            k: list(v) if isinstance(v, tuple) else v for k, v in facts["data_config"].items()
        }
        models[name] = {
            "data_config": config,
            "concept_tag": facts["concept_tag"],
            "dims": list(facts["dims"]),
        }
    table = {"timm": timm_version(), "models": models}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    _table.cache_clear()
    return table


if __name__ == "__main__":
    written = write_table()
    print(f"{FACTS_FILE}: timm {written['timm']}, {len(written['models'])} models")
