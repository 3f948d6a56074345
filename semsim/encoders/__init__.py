"""Frozen image encoders: timm backbones, the packaged EfficientNet-Lite0, the FID InceptionV3."""

from semsim.encoders.backbone import create_backbone, resolve_data_config
from semsim.encoders.encoder import Encoder, EncoderSpec
from semsim.encoders.inception import InceptionV3FID, resize_bilinear_tf1
from semsim.encoders.registry import (
    NETWORKS,
    Network,
    default_key,
    known_keys,
    network,
    network_of,
    register_network,
)
from semsim.encoders.weights import (
    EncoderError,
    WeightsUnavailableError,
    load_state_dict_file,
    read_checkpoint,
)

__all__ = [
    "Encoder",
    "EncoderError",
    "EncoderSpec",
    "InceptionV3FID",
    "NETWORKS",
    "Network",
    "WeightsUnavailableError",
    "create_backbone",
    "default_key",
    "known_keys",
    "network",
    "network_of",
    "register_network",
    "load_state_dict_file",
    "read_checkpoint",
    "resize_bilinear_tf1",
    "resolve_data_config",
]
