"""LightningModules (they receive a built ``net``) and the networks they train."""

from semsim.metrics.pair_score import pair_score
from semsim.models.classifier import ClassifierModule
from semsim.models.realfake import RealFakeModule, RealFakeNet

__all__ = ["ClassifierModule", "RealFakeModule", "RealFakeNet", "pair_score"]
