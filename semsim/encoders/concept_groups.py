"""Concept groups of the ImageNet-1k label vocabulary, derived from a classifier head.

ImageNet's 1000 classes are finer than what most dataset comparisons ask about (120 of them are
dog breeds), and a blurred or compressed image moves an encoder's posterior between neighbouring
fine classes (tabby cat -> tiger cat) more than between concepts. The content score therefore
reads the posterior summed over *concept groups*: the 1000 classes clustered by the cosine of
their classifier weight vectors (average linkage), which puts classes the network treats alike
into one group (dogs; birds; ships and aircraft; road vehicles...).

The shipped table (``semsim/metrics/data/imagenet1k_concept_groups.json``) comes from the
ImageNet head of ``tf_efficientnet_lite0`` (the packaged weights); every ImageNet-1k head uses the
same class order, so it applies to them all. Regenerate it with
``python -m semsim.encoders.concept_groups``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

N_GROUPS = 50
TABLE = Path(__file__).resolve().parents[1] / "metrics" / "data" / "imagenet1k_concept_groups.json"


def groups_from_head(weight: np.ndarray, n_groups: int = N_GROUPS) -> np.ndarray:
    """Group ids ``(C,)`` in ``0..n_groups-1``: average-linkage clusters of the class weight rows.

    Args:
        weight: ``(C, D)`` classifier weights (one row a class).
        n_groups: number of groups (``fcluster`` ``maxclust``).
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    w = np.asarray(weight, dtype=np.float64)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    tree = linkage(w, method="average", metric="cosine")
    ids = fcluster(tree, n_groups, criterion="maxclust") - 1
    # number groups by their first class, so the table reads in ImageNet order
    order = {g: i for i, g in enumerate(dict.fromkeys(ids.tolist()))}
    return np.array([order[g] for g in ids.tolist()], dtype=np.int64)


def group_names(ids: np.ndarray, class_names: list[str], members: int = 3) -> list[str]:
    """A name per group: its first ``members`` class names (and how many more)."""
    out = []
    for g in range(int(ids.max()) + 1):
        names = [class_names[i].split(",")[0] for i in np.flatnonzero(ids == g)]
        more = f" (+{len(names) - members})" if len(names) > members else ""
        out.append(", ".join(names[:members]) + more)
    return out


def effnet_head_groups(n_groups: int = N_GROUPS) -> dict[str, list]:
    """The table for the packaged ``tf_efficientnet_lite0`` ImageNet head."""
    from timm.data import ImageNetInfo

    from semsim.encoders.backbone import create_backbone

    net = create_backbone("tf_efficientnet_lite0", pretrained=True, num_classes=1000)
    ids = groups_from_head(net.get_classifier().weight.detach().numpy(), n_groups)
    info = ImageNetInfo()
    names = [info.index_to_description(i) for i in range(1000)]
    return {"groups": ids.tolist(), "names": group_names(ids, names)}


if __name__ == "__main__":
    table = effnet_head_groups()
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(json.dumps(table, indent=0) + "\n")
    print(f"wrote {TABLE} ({len(table['names'])} groups)")
