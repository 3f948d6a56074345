"""What can be plugged in, read from the one discovery point of each kind.

=========  ==========================================================  ==========================
kind       discovery point (the only place a name is declared)         adding one
=========  ==========================================================  ==========================
sources    :data:`semsim.data.sources.SOURCES` (``@register_source``)  a module in data/sources/
encoders   Hydra's ``encoder`` group: ``conf/encoder/<key>.yaml``      one yaml file
scores     :data:`semsim.metrics.SCORES` (``ScoreDef`` declarations)   a module in metrics/
=========  ==========================================================  ==========================

The ``semsim`` help (:mod:`semsim.cli`), the overrides checker (:mod:`semsim.overrides`, through
the Hydra configs each registry generates or holds) and the docs tables read these; nothing else
lists names. ``python -m semsim.catalog`` prints the tables; ``--write docs/plugins.md``
rewrites the tables between ``<!-- catalog:KIND -->`` and ``<!-- /catalog -->`` in a page (a
test checks the page is up to date). Sources and encoders are read without importing torch;
scores import the metrics (torch), so the help does not list them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from semsim.utils import CONF_DIR

KINDS = ("sources", "encoders", "scores")


def group_choices(group: str) -> list[str]:
    """The choices of config group ``group`` as Hydra sees them: ``conf/<group>/*.yaml`` and the
    configs the registries store (every source is ``a=``, ``b=``, ``data=``, ``collection=``)."""
    from hydra.core.config_store import ConfigStore

    import semsim.data  # noqa: F401 - registers every source and its generated configs

    files = {p.stem for p in Path(CONF_DIR, group).glob("*.yaml")}
    node = ConfigStore.instance().repo
    for part in group.split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    stored = {k.removesuffix(".yaml") for k, v in node.items() if k.endswith(".yaml")}
    return sorted(files | stored)


def yaml_head(path: Path) -> str:
    """The first sentence of a config file's leading comment block (``@package`` skipped)."""
    if not path.is_file():
        return ""
    block = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text.startswith("@package"):
            block.append(text)
    paragraph = " ".join(" ".join(block).split())
    return paragraph.split(". ")[0].rstrip(".")


def sources() -> dict[str, str]:
    """``{name: first sentence of its function's docstring}`` of every registered source."""
    from semsim.data.sources.registry import SOURCES, describe, discover

    discover()
    return {name: describe(SOURCES[name]) for name in sorted(SOURCES)}


def encoders() -> dict[str, str]:
    """``{key: first comment line of conf/encoder/<key>.yaml}`` for every ``encoder=`` choice."""
    return {
        key: yaml_head(Path(CONF_DIR, "encoder", f"{key}.yaml")) for key in group_choices("encoder")
    }


def encoder_models() -> dict[str, str]:
    """``{key: the model it names (timm name or registered network)}`` (``name:`` of its yaml)."""
    from omegaconf import OmegaConf

    out = {}
    for key in group_choices("encoder"):
        path = Path(CONF_DIR, "encoder", f"{key}.yaml")
        out[key] = str(OmegaConf.load(path).get("name", "")) if path.is_file() else ""
    return out


def scores() -> dict[str, tuple[str, str, str, str]]:
    """``{name: (family, direction, range, meaning)}`` of every registry score (imports torch)."""
    from semsim.metrics import SCORES

    out = {}
    for name, d in SCORES.items():
        way = "higher" if d.higher_is_more_similar else "lower"
        lo, hi = d.range
        out[name] = (d.family, f"{way} = more similar", f"[{lo:g}, {hi:g}]", d.meaning)
    return out


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(kind: str) -> str:
    """A markdown table of ``kind`` (``sources``, ``encoders`` or ``scores``)."""
    if kind == "sources":
        rows = ["| `a=` / `b=` / `data=` | what it reads |", "|---|---|"]
        rows += [f"| `{n}` | {_cell(d)} |" for n, d in sources().items()]
    elif kind == "encoders":
        models = encoder_models()
        rows = ["| `encoder=` | model | what it is |", "|---|---|---|"]
        rows += [f"| `{k}` | `{models[k]}` | {_cell(d)} |" for k, d in encoders().items()]
    elif kind == "scores":
        rows = ["| score | family | direction | range | meaning |", "|---|---|---|---|---|"]
        rows += [f"| `{n}` | {' | '.join(map(_cell, v))} |" for n, v in scores().items()]
    else:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return "\n".join(rows)


_BLOCK = re.compile(r"(<!-- catalog:(\w+) -->\n)(.*?)(<!-- /catalog -->)", re.DOTALL)


def render_page(text: str) -> str:
    """``text`` with every ``<!-- catalog:KIND -->`` block replaced by the current table."""
    return _BLOCK.sub(lambda m: f"{m.group(1)}{table(m.group(2))}\n{m.group(4)}", text)


def main(argv: list[str] | None = None) -> int:
    """``python -m semsim.catalog [KIND ...]`` prints tables; ``--write PAGE`` updates a page."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--write"] and len(argv) == 2:
        page = Path(argv[1])
        page.write_text(render_page(page.read_text()))
        print(f"{page}: catalog tables updated")
        return 0
    unknown = [k for k in argv if k not in KINDS]
    if unknown:
        print(
            f"error: unknown kind {unknown[0]!r} (choose from {', '.join(KINDS)})", file=sys.stderr
        )
        return 2
    for kind in argv or KINDS:
        print(f"{kind}:\n{table(kind)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
