"""Lightning callbacks that measure similarity during and after training."""

from semsim.callbacks.embeddings import embed_dataset
from semsim.callbacks.loggers import log_report
from semsim.callbacks.realfake import RealFakeSimilarityCallback
from semsim.callbacks.similarity import SimilarityMatrixCallback, per_class_subset

__all__ = [
    "RealFakeSimilarityCallback",
    "SimilarityMatrixCallback",
    "embed_dataset",
    "log_report",
    "per_class_subset",
]
