"""LightningModules (they receive a built ``net``) and the networks they train."""

from semsim.metrics.pair_score import pair_score
from semsim.models.base import ImageModule
from semsim.models.classification import ClassifierModule
from semsim.models.realfake import RealFakeModule, RealFakeNet

__all__ = ["ClassifierModule", "ImageModule", "RealFakeModule", "RealFakeNet", "pair_score"]
