"""Networks that LightningModules receive already built (`net` in the model configs)."""

from __future__ import annotations

import torch
from torch import nn

from semsim.encoders import create_backbone


class TimmClassifier(nn.Module):
    """A timm backbone (pooled pre-logit features) with a new linear head.

    Args:
        backbone: timm model name, e.g. ``swin_tiny_patch4_window7_224`` or ``tf_efficientnet_lite0``.
        num_classes: outputs of the new head.
        pretrained: load ImageNet weights (hub when online; embedded for ``tf_efficientnet_lite0``).
        checkpoint: local weights file or a semsim ``.ckpt`` to start from.
        image_size: input resolution; ``None`` keeps the backbone's own.
        drop_rate: dropout before the head.
    """

    def __init__(
        self,
        backbone: str,
        num_classes: int,
        pretrained: bool = False,
        checkpoint: str | None = None,
        image_size: int | None = None,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if not num_classes or num_classes < 1:
            raise ValueError(f"model.net.num_classes must be >= 1, got {num_classes}")
        self.backbone_name = backbone
        # what reports say about the embedding (models.provenance.encoder_info): the whole
        # network trains, so after fitting its features are a fine-tuned (or trained) encoder's
        self.backbone_info = {
            "name": backbone,
            "weights": "checkpoint"
            if checkpoint
            else "pretrained"
            if pretrained
            else "random-init",
            "frozen": False,
        }
        self.image_size = image_size
        self.backbone = create_backbone(
            backbone, pretrained=pretrained, checkpoint=checkpoint, image_size=image_size
        )
        self.num_features = int(self.backbone.num_features)
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes)

    @property
    def data_config(self) -> dict:
        """timm's preprocessing for this backbone, at ``image_size`` when one is set."""
        from timm.data import resolve_data_config

        cfg = dict(resolve_data_config({}, model=self.backbone))
        if self.image_size is not None:
            cfg["input_size"] = (3, self.image_size, self.image_size)
        return cfg

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled pre-logit embeddings ``(B, D)`` of images ``(B, 3, H, W)``."""
        feats = self.backbone.forward_features(x)
        return self.backbone.forward_head(feats, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))

    def describe(self) -> dict:
        return {
            "backbone": self.backbone_name,
            "num_classes": self.head.out_features,
            "image_size": self.image_size,
            "dim": self.num_features,
        }
