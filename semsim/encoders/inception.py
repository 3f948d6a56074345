"""The InceptionV3 used for FID (TF graph ``2015-12-05``), with TensorFlow 1.x numerics.

Architecture and numerics follow pytorch-fid's ``FIDInceptionA/C/E`` and torch-fidelity's
``inception-v3-compat`` (torchvision's InceptionV3 patched where the TF graph differs: average
pools that ignore padding, a max pool in the last block, BN eps 1e-3, a 1008-way classifier).
Parameter names match both projects, so their weight file
``pt_inception-2015-12-05-6726825d.pth`` loads as is.

Inputs of the FID encoder are RGB images with values in 0..255: they are resized to 299x299 with
TensorFlow 1.x's bilinear resize (``align_corners=False``, no antialiasing) and mapped to
``(x - 128) / 128``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from semsim.encoders.weights import EncoderError, inception_weights_path, load_state_dict_file

INPUT_SIZE = 299
FEATURE_DIM = 2048
TF_CLASSES = 1008

# Data config in timm's format: ToTensor (x/255) followed by Normalize with these values gives
# exactly (x - 128) / 128, the input scaling of the TF graph.
DATA_CONFIG = {
    "input_size": (3, INPUT_SIZE, INPUT_SIZE),
    "interpolation": "bilinear",
    "mean": (128 / 255,) * 3,
    "std": (128 / 255,) * 3,
    "crop_pct": 1.0,
    "crop_mode": "center",
}


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize as TensorFlow 1.x ``tf.image.resize_bilinear(align_corners=False)``.

    Source coordinates are ``out_index * (in_size / out_size)`` (no half-pixel offset), neighbours
    clamp at the border, and there is no antialiasing when shrinking. Computed in ``x``'s float
    dtype with the same operation order as torch-fidelity's epsilon-exact version.

    Args:
        x: ``(B, C, H, W)`` floating-point images.
        size: output ``(height, width)``.
    """
    if not torch.is_floating_point(x) or x.dim() != 4:
        raise ValueError(
            f"resize_bilinear_tf1 expects a 4-D float tensor, got {x.dtype} {tuple(x.shape)}"
        )

    def axis(n_out: int, n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        scale = torch.tensor(n_in / n_out, dtype=torch.float32)
        pos = torch.arange(0, n_out, 1, dtype=x.dtype, device=x.device) * scale
        lo = pos.long()
        hi = (lo + 1).clamp_max(n_in - 1)
        return lo, hi, pos - lo.float()

    y_lo, y_hi, dy = axis(size[0], x.shape[2])
    x_lo, x_hi, dx = axis(size[1], x.shape[3])
    top, bottom = x[:, :, y_lo, :], x[:, :, y_hi, :]
    tl, tr = top[:, :, :, x_lo], top[:, :, :, x_hi]
    bl, br = bottom[:, :, :, x_lo], bottom[:, :, :, x_hi]
    dx = dx.view(1, 1, 1, size[1])
    upper = tl + (tr - tl) * dx
    lower = bl + (br - bl) * dx
    return upper + (lower - upper) * dy.view(1, 1, size[0], 1)


class TF1Preprocess(nn.Module):
    """``(B, 3, H, W)`` images in 0..255 (uint8 or float) -> the network's input at 299x299."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() if not torch.is_floating_point(x) else x
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = resize_bilinear_tf1(x, (INPUT_SIZE, INPUT_SIZE))
        return (x - 128) / 128


class TF1ResizeTransform:
    """PIL image -> ``(3, 299, 299)`` float32 tensor in 0..255, resized like TF 1.x.

    Doing the resize per image in the DataLoader workers gives the same numbers as resizing the
    batch (the operation is per pixel) and lets collections mix image sizes.
    """

    def __init__(self, size: int = INPUT_SIZE) -> None:
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
        x = torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float()
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = resize_bilinear_tf1(x, (self.size, self.size))
        return x[0]

    def __repr__(self) -> str:
        return f"TF1ResizeTransform(size={self.size})"


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size, stride=1, padding=0) -> None:  # noqa: ANN001
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_tf(x: torch.Tensor) -> torch.Tensor:
    # TF's SAME average pool divides by the number of real (unpadded) inputs.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            bd = layer(bd)
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """``pool="avg"`` for Mixed_7b; ``pool="max"`` for Mixed_7c (as in the TF graph)."""

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "avg":
            pooled = _avg_pool_tf(x)
        else:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class InceptionV3FID(nn.Module):
    """FID InceptionV3 with a timm-like interface (``forward_features``, ``forward_head``).

    Inputs are already scaled to the TF range (``(x - 128) / 128``); :class:`TF1Preprocess` does
    that for 0..255 images. ``num_classes=1008`` keeps the TF classifier ``fc`` (so the official
    file loads whole), ``0`` drops it, any other value makes a new head.
    """

    def __init__(self, num_classes: int = 0, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_features = FEATURE_DIM
        self.pretrained_cfg = dict(DATA_CONFIG, num_classes=TF_CLASSES, classifier="fc")
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(FEATURE_DIM, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 299, 299)`` scaled images -> ``(B, 2048, 8, 8)`` feature map."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
            self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):  # fmt: skip
            x = block(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return x if pre_logits else self.fc(self.drop(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The classifier on the pooled features (timm's interface)."""
        return self.fc

    def load_fid_state_dict(self, state_dict: dict[str, torch.Tensor]) -> bool:
        """Load pytorch-fid / torch-fidelity weights, keeping ``fc`` only when it fits.

        Returns:
            Whether ``fc`` was loaded from ``state_dict``.
        """
        sd = dict(state_dict)
        fc = {k: sd.pop(k) for k in ("fc.weight", "fc.bias") if k in sd}
        fits = (
            isinstance(self.fc, nn.Linear) and fc and fc["fc.weight"].shape == self.fc.weight.shape
        )
        if fits:
            sd.update(fc)
        missing, unexpected = self.load_state_dict(sd, strict=False)
        if not fits:
            missing = [k for k in missing if not k.startswith("fc.")]
        if missing or unexpected:
            raise EncoderError(
                f"InceptionV3 FID weights do not fit: missing {missing[:3]}..., unexpected {unexpected[:3]}..."
            )
        return bool(fits)


def create_inception(
    pretrained: bool,
    checkpoint: str | None,
    num_classes: int | None,
    drop_rate: float,
    image_size: int | None,
) -> tuple[InceptionV3FID, bool]:
    """The FID InceptionV3 with its weights (``checkpoint`` file, else the official file).

    Args:
        num_classes: None keeps the TF 1008-way classifier; 0 drops it.

    Returns:
        ``(model, head_loaded)``: whether ``fc`` holds the weights' own classifier (or the seeded
        random init of the whole model).
    """
    if image_size is not None and image_size != INPUT_SIZE:
        raise EncoderError(f"encoder.image_size: inception_fid always works at {INPUT_SIZE}")
    classes = TF_CLASSES if num_classes is None else num_classes
    model = InceptionV3FID(num_classes=classes, drop_rate=drop_rate)
    if checkpoint:
        path = Path(checkpoint).expanduser()
    elif pretrained:
        path = inception_weights_path()
    else:
        return model, classes > 0
    state_dict, _ = load_state_dict_file(path)
    return model, model.load_fid_state_dict(state_dict)
