"""What a trained module records and says about itself: the ids of the images it was trained
and selected on (stored in its checkpoint, checked by :mod:`semsim.eval`), and the ``encoder``
entry of a similarity report measured with its embedding."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


# --- what a similarity report says about the module's embedding -------------------------------
def encoder_info(module: Any, key: str | None, stage: str) -> tuple[dict[str, Any], bool]:
    """The report's ``encoder`` entry, and whether the features are the official FID ones.

    The Fréchet distance is called ``fid`` only for the frozen ``inception_fid`` backbone with its
    pretrained (official TF 2015-12-05) weights; otherwise it is ``fd_<key>`` with the key saying
    what happened to the weights (``_random``, ``_finetuned``, ``_trained``).
    """
    from semsim.encoders import default_key, network
    from semsim.metrics.frechet import fd_name

    info = dict(getattr(module, "backbone_info", {}) or {})
    net = getattr(module, "net", None)
    name = str(info.get("name") or getattr(net, "backbone_name", "model"))
    weights = str(info.get("weights", "unknown"))
    frozen = bool(info.get("frozen", False))
    registered = network(name)
    official_name = registered.official_fd_name if registered is not None else None
    official = official_name is not None and weights == "pretrained" and frozen
    if not frozen:
        state = "trained" if weights == "random-init" else "finetuned"
    else:
        state = "random" if weights == "random-init" else ""
    base = key or default_key(name)
    out_key = f"{base}_{state}" if state and not key else base
    out = {
        "name": name if (official or official_name is None) else f"{name}:{state or 'custom'}",
        "key": out_key,
        "fd_name": fd_name(out_key, official_name if official else None),
        "weights": weights,
        "frozen": frozen,
        "stage": stage,
        "features": "official FID protocol (TF1 bilinear resize to 299, pool3 2048-d)"
        if official
        else "pooled pre-logit backbone embedding, the model's eval preprocessing",
    }
    if net is not None and hasattr(net, "describe"):
        out["net"] = dict(net.describe())
    return out, official


# --- what a model was trained on ------------------------------------------------------------------
def item_ids(collection: Any) -> np.ndarray:
    """A 64-bit identity per image: hash of ``<collection name>:<path under its root>`` for files,
    of the content fingerprint and index for in-memory arrays, of name and index otherwise.

    Subsets map to their parent's ids, so train, val and test carved from one split share ids.

    Returns:
        ``(N,)`` int64.
    """
    import hashlib

    from semsim.data import ArrayCollection, FileCollection, Subset

    if isinstance(collection, Subset):
        return item_ids(collection.parent)[collection.indices]
    if isinstance(collection, FileCollection):
        keys = [f"{collection.name}:{collection._relative(p)}" for p in collection.paths]
    elif isinstance(collection, ArrayCollection):
        base = collection.fingerprint()
        keys = [f"{base}:{i}" for i in range(len(collection))]
    else:
        keys = [f"{collection.name}:{i}" for i in range(len(collection))]
    digests = b"".join(hashlib.blake2b(k.encode(), digest_size=8).digest() for k in keys)
    return np.frombuffer(digests, dtype="<i8").astype(np.int64)


def training_record(datamodule: Any) -> dict[str, Any]:
    """What a checkpoint was trained and selected on (stored in it; :mod:`semsim.eval` reads it).

    Returns:
        splits, carve options, and ``seen_ids``: a sorted int64 tensor of :func:`item_ids` of the
        train and val images, so that an evaluation can refuse to score images the model saw.
    """
    train, val = datamodule.train_set, datamodule.val_set
    seen = np.unique(np.concatenate([item_ids(train), item_ids(val)]))
    return {
        "train_split": datamodule.train_split,
        "eval_split": datamodule.eval_split,
        "seed": int(datamodule.seed),
        "val_fraction": float(datamodule.val_fraction),
        "test_fraction": float(datamodule.test_fraction),
        "n_train": len(train),
        "n_val": len(val),
        "seen_ids": torch.from_numpy(seen),
    }


def plain(obj: Any) -> Any:
    """Tuples to lists and numpy scalars to Python, recursively (weights-only-loadable)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
