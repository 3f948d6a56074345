"""The source registry and the generated configs: a source is one module and one registration."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import get_method
from omegaconf import OmegaConf

from semsim.data import (
    SOURCES,
    ArrayCollection,
    CollectionError,
    build_source,
    folder,
    get_source,
    register_source,
)
from semsim.data.datamodule import datamodule_defaults
from semsim.data.sources import unregister_source

CONF = Path(__file__).resolve().parents[1] / "conf"
BUILT_IN = ("archive", "arrays", "cifake", "cifar10", "folder", "hf", "synthetic")


@pytest.fixture
def toy() -> Iterator[str]:
    """A source registered in the test, the way a new module would register one."""

    @register_source("toy_test")
    def toy_source(
        root: str | None = None,
        split: str | None = None,
        classes: Sequence[str] | str | None = None,
        max_per_class: int | None = None,
        seed: int = 0,
        on_bad_image: str = "error",
        n: int = 3,
    ) -> ArrayCollection:
        pixels = np.full((n, 4, 4, 3), seed, dtype=np.uint8)
        return ArrayCollection(pixels, name=f"toy/{split}")

    yield "toy_test"
    unregister_source("toy_test")


def test_built_in_sources_are_registered_and_their_yaml_matches_the_function() -> None:
    assert set(BUILT_IN) <= set(SOURCES)
    for name in BUILT_IN:
        node = yaml.safe_load((CONF / "collection" / f"{name}.yaml").read_text())
        fn = get_source(name)
        assert get_method(node.pop("_target_")) is fn
        # every option in the yaml is a parameter and every parameter is in the yaml
        assert set(node) == set(inspect.signature(fn).parameters), name


def test_a_source_registered_in_a_test_is_usable_by_name_and_from_the_command_line(
    toy: str,
) -> None:
    from semsim.compare import build_collection

    assert build_source(toy, {"n": 2, "seed": 5}).images.shape == (2, 4, 4, 3)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("compare", overrides=[f"a={toy}", "a.n=5", f"b={toy}", "b.seed=7"])
    # no yaml for it: collection/toy_test was generated from the signature
    assert cfg.a.n == 5 and cfg.a.split is None and cfg.b.n == 3
    a, b = build_collection(cfg.a, "a"), build_collection(cfg.b, "b")
    assert len(a) == 5 and int(b.images.max()) == 7


def test_unknown_source_option_and_duplicate_name_are_errors(toy: str) -> None:
    with pytest.raises(CollectionError, match=r"unknown source 'nope'; known sources: .*folder"):
        get_source("nope")
    with pytest.raises(CollectionError, match=r"toy_test: unknown option\(s\) \['m'\]"):
        build_source(toy, {"m": 1})
    with pytest.raises(ValueError, match="'folder' is already registered"):
        register_source("folder")(lambda **_: None)
    assert get_source("folder") is folder


def test_a_b_aliases_are_generated_for_every_source() -> None:
    assert not (CONF / "a").exists() and not (CONF / "b").exists()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for name in BUILT_IN:
            cfg = compose("compare", overrides=[f"a={name}", f"b={name}"])
            collection = OmegaConf.load(CONF / "collection" / f"{name}.yaml")
            assert OmegaConf.to_container(cfg.a) == OmegaConf.to_container(collection)
            assert cfg.b._target_ == collection._target_


def test_datamodule_defaults_are_written_once_and_equal_the_python_defaults() -> None:
    from hydra.core.config_store import ConfigStore

    written = OmegaConf.to_container(OmegaConf.load(CONF / "data" / "datamodule" / "default.yaml"))
    assert written == datamodule_defaults()
    # no hand-written data=NAME config: every one is generated from the registry
    assert not list((CONF / "data").glob("*.yaml"))
    generated = ConfigStore.instance().repo["data"]
    assert {f"{name}.yaml" for name in SOURCES} <= set(generated)
    for name in BUILT_IN:
        node = OmegaConf.to_container(generated[f"{name}.yaml"].node)
        # each data config states only how it differs
        assert set(node.get("datamodule", {})) <= {"train_split", "num_workers"}, name


@pytest.mark.parametrize("data", BUILT_IN)
def test_data_configs_take_the_datamodule_defaults(data: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}", "data.datamodule.batch_size=7"])
    block = OmegaConf.to_container(cfg.data.datamodule, resolve=True)
    expected = {**datamodule_defaults(), "batch_size": 7}
    if data == "folder":  # folder trains and evaluates on the same split by default
        expected["train_split"] = cfg.data.split
    if data == "synthetic":  # in-memory images: no worker processes
        expected["num_workers"] = 0
    assert block == expected
    # the collection part is collection/NAME's, the seed follows the run's
    collection = OmegaConf.to_container(OmegaConf.load(CONF / "collection" / f"{data}.yaml"))
    composed = OmegaConf.to_container(cfg.data)
    for key, value in collection.items():
        assert key == "seed" or composed[key] == value, (data, key)
    assert cfg.data.seed == cfg.seed


def test_a_registered_source_is_training_data_too(toy: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={toy}", "data.n=4"])
    assert cfg.data.n == 4 and cfg.data.datamodule.batch_size == datamodule_defaults()["batch_size"]
    from semsim.data.sources.registry import source_name

    assert source_name(cfg.data) == toy


def test_importing_semsim_data_is_light_and_exports_resolve() -> None:
    import subprocess
    import sys

    code = (
        "import sys, semsim.data as d; assert 'torch' not in sys.modules, 'torch imported'; "
        "assert set(d.__all__) == set(d._EXPORTS); "
        "from hydra.core.config_store import ConfigStore; "
        "assert 'folder.yaml' in ConfigStore.instance().repo['a']; "
        "[getattr(d, n) for n in d.__all__]; print('ok')"
    )
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
