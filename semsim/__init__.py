"""semsim: semantic similarity between image datasets."""

__version__ = "0.1.0"
