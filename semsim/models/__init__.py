"""LightningModules (they receive a built ``net``) and the networks they train."""

from semsim.models.classifier import ClassifierModule
from semsim.models.realfake import RealFakeModule, RealFakeNet, pair_score

__all__ = ["ClassifierModule", "RealFakeModule", "RealFakeNet", "pair_score"]
