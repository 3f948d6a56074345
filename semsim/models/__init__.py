"""LightningModules (they receive a built ``net``) and the networks they train."""

from semsim.models.classifier import ClassifierModule

__all__ = ["ClassifierModule"]
