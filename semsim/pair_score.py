"""The seed's pair score of two images with a trained real/fake checkpoint:
``python -m semsim.pair_score ckpt=PATH a=IMG1 b=IMG2 [device=cpu]``.

``p(x)`` is the checkpoint's probability that ``x`` is FAKE (its own eval preprocessing), and
the pair score is ``1 - |p(a) - p(b)|``: 1 when the model sees both images alike (both real or
both fake as far as it can tell), 0 when one is surely REAL and the other surely FAKE. Prints one
JSON object. The checkpoint is read without running code from it (``weights_only``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from semsim.metrics.pair_score import pair_score
from semsim.models.realfake import RealFakeNet

USAGE = "usage: python -m semsim.pair_score ckpt=PATH a=IMAGE b=IMAGE [device=cpu|cuda]"


@dataclass
class PairScorer:
    """A trained real/fake network with its preprocessing.

    Attributes:
        net: the network (eval mode).
        transform: PIL image -> input tensor (the training run's eval transform).
        positive_index: output index of ``p``'s class.
        positive_class: its name (``FAKE``).
        device: where the network runs.
    """

    net: nn.Module
    transform: Any
    positive_index: int
    positive_class: str
    device: torch.device

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str], device: str = "cpu") -> PairScorer:
        """Rebuild the network of a ``semsim.train`` real/fake checkpoint (no download)."""
        from semsim.data.datamodule import eval_transform
        from semsim.models.checkpoints import read_lightning_checkpoint

        path = Path(path).expanduser()
        ckpt = read_lightning_checkpoint(path, "ckpt")
        info = ckpt.get("semsim")
        if not info or info.get("module") != "realfake":
            raise ValueError(
                f"ckpt: {path} is not a real/fake checkpoint of semsim.train "
                "(train one with experiment=cifake or cifake_cpu)"
            )
        desc = info["net"]
        net = RealFakeNet(
            desc["backbone"],
            num_classes=int(desc["num_classes"]),
            pretrained=False,
            image_size=desc.get("image_size"),
            hidden=desc.get("hidden", []),
            crop_pct=desc.get("crop_pct"),
        )
        state = {}
        for k, v in ckpt["state_dict"].items():
            if k.startswith("net."):
                k = k[len("net.") :]
                state[k.removeprefix("_orig_mod.")] = v
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ValueError(f"ckpt: {path} does not fit its own network description: {e}") from e
        net.eval().requires_grad_(False)
        dev = torch.device(device)
        data_config = info.get("data_config") or net.data_config
        return cls(
            net=net.to(dev),
            transform=eval_transform(data_config),
            positive_index=int(info.get("positive_index", 1)),
            positive_class=str(info.get("positive_class", "FAKE")),
            device=dev,
        )

    def proba(self, images: Sequence[str | os.PathLike[str] | Image.Image]) -> np.ndarray:
        """``p`` of each image (a file or a PIL image), ``(N,)`` float64."""
        from semsim.data.images import ImageDecodeError, decode_file, to_rgb

        batch = []
        for img in images:
            if not isinstance(img, Image.Image):
                if not Path(img).is_file():
                    raise ValueError(f"no such image file: {img}")
                try:
                    img = decode_file(img)
                except ImageDecodeError as e:  # empty, truncated, not an image
                    raise ValueError(f"{img}: cannot read the image: {e}") from e
            batch.append(self.transform(to_rgb(img)))
        x = torch.stack(batch).to(self.device)
        with torch.inference_mode():
            p = self.net(x).float().softmax(dim=1)[:, self.positive_index]
        return p.cpu().double().numpy()

    def score(
        self, a: str | os.PathLike[str] | Image.Image, b: str | os.PathLike[str] | Image.Image
    ) -> dict[str, Any]:
        """``p`` of both images and their pair score ``1 - |p(a) - p(b)|``."""
        pa, pb = self.proba([a, b])
        return {
            "a": str(a) if not isinstance(a, Image.Image) else "<image>",
            "b": str(b) if not isinstance(b, Image.Image) else "<image>",
            f"p_{self.positive_class.lower()}_a": float(pa),
            f"p_{self.positive_class.lower()}_b": float(pb),
            "pair_score": float(pair_score(pa, pb)),
            "definition": f"1 - |p(a) - p(b)|, p = probability of {self.positive_class}",
        }


def score_pair(
    ckpt: str | os.PathLike[str], a: str | os.PathLike[str], b: str | os.PathLike[str],
    device: str = "cpu",
) -> dict[str, Any]:  # fmt: skip
    """Pair score of two image files with a trained real/fake checkpoint."""
    return PairScorer.from_checkpoint(ckpt, device).score(a, b)


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """``key=value`` arguments (``ckpt``, ``a``, ``b``, optional ``device``)."""
    known = {"ckpt", "a", "b", "device"}
    out: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in known:
            raise ValueError(f"unknown argument {arg!r}; {USAGE}")
        out[key] = value
    missing = [k for k in ("ckpt", "a", "b") if not out.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; {USAGE}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0
    try:
        opts = parse_args(args)
        result = score_pair(opts["ckpt"], opts["a"], opts["b"], opts.get("device", "cpu"))
    except ValueError as err:
        if os.environ.get("SEMSIM_DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
