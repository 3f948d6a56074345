"""REAL vs FAKE detection on frozen (or fine-tuned) image features: the user's CIFAKE method.

The seed's method: embed every image with InceptionV3, train a small neural network on the
embeddings to say REAL or FAKE, and score a pair of images by ``1 - |p(x1) - p(x2)|`` where
``p`` is the network's probability of FAKE (:func:`semsim.metrics.pair_score.pair_score`).

:class:`RealFakeNet` is the network (any timm backbone or ``inception_fid``, plus a small MLP head);
:class:`RealFakeModule` trains it with the backbone frozen (kept in eval mode, so its BatchNorm
statistics never move) or fine-tuned, and logs accuracy, ROC AUC and the expected calibration
error of ``p``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryCalibrationError

from semsim.models.base import ImageModule
from semsim.models.nets import TimmClassifier
from semsim.models.provenance import plain, training_record


class MLPHead(nn.Module):
    """``Linear -> GELU -> Dropout`` blocks, then a final ``Linear`` (no hidden layer: linear).

    Args:
        in_features: embedding size.
        out_features: number of outputs.
        hidden: sizes of the hidden layers.
        drop_rate: dropout before each linear layer.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: Sequence[int] = (),
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.hidden = [int(h) for h in hidden]
        layers: list[nn.Module] = []
        width = self.in_features
        for h in self.hidden:
            if h < 1:
                raise ValueError(f"model.net.hidden sizes must be >= 1, got {list(hidden)}")
            layers += [nn.Dropout(drop_rate), nn.Linear(width, h), nn.GELU()]
            width = h
        layers += [nn.Dropout(drop_rate), nn.Linear(width, self.out_features)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class RealFakeNet(TimmClassifier):
    """A backbone (timm name or ``inception_fid``) with a small MLP head on its pooled embedding.

    Args:
        backbone: timm model name or ``inception_fid`` (the FID InceptionV3, 2048-d pool3).
        num_classes: outputs of the head (2: REAL and FAKE).
        pretrained: load the backbone's pretrained weights (the official FID file for
            ``inception_fid``: downloaded when online, else from ``$SEMSIM_WEIGHTS_DIR``; the
            packaged ImageNet weights for ``tf_efficientnet_lite0``; the hub otherwise).
        checkpoint: local weights file or a semsim ``.ckpt`` for the backbone.
        image_size: input resolution; ``None`` keeps the backbone's own (299 for Inception).
        drop_rate: dropout inside the head.
        hidden: hidden layer sizes of the head; ``[]`` makes it linear.
        crop_pct: centre-crop share of the eval transform; ``None`` keeps the backbone's own
            (0.875 for ImageNet models). Use 1.0 when images come at the input size (CIFAKE at
            32 px), so eval sees whole images at their own pixels as training does.
    """

    def __init__(
        self,
        backbone: str,
        num_classes: int = 2,
        pretrained: bool = False,
        checkpoint: str | None = None,
        image_size: int | None = None,
        drop_rate: float = 0.0,
        hidden: Sequence[int] = (256,),
        crop_pct: float | None = None,
    ) -> None:
        if crop_pct is not None and not 0.0 < crop_pct <= 1.0:
            raise ValueError(f"model.net.crop_pct must be in (0, 1], got {crop_pct}")
        super().__init__(
            backbone,
            num_classes=num_classes,
            pretrained=pretrained,
            checkpoint=checkpoint,
            image_size=image_size,
            drop_rate=0.0,
        )
        self.pretrained = bool(pretrained)
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.head = MLPHead(self.num_features, num_classes, hidden, drop_rate)
        self.crop_pct = None if crop_pct is None else float(crop_pct)

    @property
    def data_config(self) -> dict:
        """timm's preprocessing for the backbone at ``image_size``, with ``crop_pct`` if set."""
        cfg = dict(super().data_config)
        if self.crop_pct is not None:
            cfg["crop_pct"] = self.crop_pct
        return cfg

    @property
    def weights(self) -> str:
        """Where the backbone's starting weights came from: ``checkpoint:<path>``,
        ``pretrained`` or ``random-init``."""
        if self.checkpoint:
            return f"checkpoint:{self.checkpoint}"
        return "pretrained" if self.pretrained else "random-init"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def describe(self) -> dict:
        return {
            **super().describe(),
            "hidden": list(self.head.hidden),
            "crop_pct": self.crop_pct,
            "weights": self.weights,
        }


class RealFakeModule(ImageModule):
    """Trains ``net`` to tell REAL from FAKE; ``p`` = softmax probability of the positive class.

    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``val/auc``, ``val/ece``,
    ``val/acc_best``, ``test/loss``, ``test/acc``, ``test/auc``, ``test/ece``. ``ece`` is
    torchmetrics' binary expected calibration error: ``p`` is cut into ``ece_bins`` equal-width
    bins and ``ece = sum_b (n_b / n) |mean(p in b) - share of positives in b|``, i.e. how far
    ``p`` is from being a probability one can take at face value (it is what the pair score uses).

    Args:
        net: a network with ``.backbone``, ``.head`` (``out_features`` 2), ``embed(x)`` and
            ``forward(x)`` (:class:`RealFakeNet`).
        optimizer: partial optimizer, called with the parameters that train.
        scheduler: partial scheduler ``(optimizer, total_steps)`` stepped per batch, or ``None``.
        freeze_backbone: keep the backbone fixed (no gradients, always in eval mode) and train
            the head alone; ``False`` fine-tunes everything.
        backbone_lr_factor: learning rate of the backbone relative to the head when fine-tuning.
        positive_class: the class whose probability is ``p``: a class name looked up in the
            datamodule's ``class_names`` (``FAKE``), or an index.
        label_smoothing: cross-entropy label smoothing.
        ece_bins: bins of the calibration error.
        compile: ``torch.compile`` the net for fitting.
    """

    EVAL_METRICS = ("acc", "auc", "ece")
    KIND = "realfake"

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        freeze_backbone: bool = True,
        backbone_lr_factor: float = 1.0,
        positive_class: str | int = "FAKE",
        label_smoothing: float = 0.0,
        ece_bins: int = 15,
        compile: bool = False,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        self.save_hyperparameters(logger=False, ignore=["net", "optimizer", "scheduler"])
        if net.head.out_features != 2:
            raise ValueError(
                f"model.net: a real/fake head needs 2 outputs, got {net.head.out_features} "
                "(train on data.label=realfake)"
            )
        if backbone_lr_factor <= 0:
            raise ValueError(f"model.backbone_lr_factor must be > 0, got {backbone_lr_factor}")
        if ece_bins < 1:
            raise ValueError(f"model.ece_bins must be >= 1, got {ece_bins}")
        self.freeze_backbone = bool(freeze_backbone)
        self.positive_index = positive_class if isinstance(positive_class, int) else 1
        self.class_names: list[str] | None = None
        describe = getattr(net, "describe", None)
        self.backbone_info: dict[str, Any] = {
            "name": getattr(net, "backbone_name", type(net.backbone).__name__),
            "weights": getattr(net, "weights", "unknown"),
            "frozen": self.freeze_backbone,
            **({"net": dict(describe())} if callable(describe) else {}),
        }
        if self.freeze_backbone:
            self.net.backbone.requires_grad_(False)
            self.net.backbone.eval()
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", BinaryAccuracy())
        for stage in ("val", "test"):
            setattr(self, f"{stage}_auc", BinaryAUROC())
            setattr(self, f"{stage}_ece", BinaryCalibrationError(n_bins=ece_bins, norm="l1"))

    # --- mode -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> RealFakeModule:
        """Set the mode; a frozen backbone stays in eval mode (BatchNorm statistics fixed)."""
        super().train(mode)
        if self.freeze_backbone:
            self.net.backbone.train(False)
        return self

    # --- inference ------------------------------------------------------------------------
    def positive_proba(self, logits: torch.Tensor) -> torch.Tensor:
        """``p``: softmax probability of the positive class, ``(B,)``."""
        return logits.float().softmax(dim=1)[:, self.positive_index]

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """``p(x)`` for images ``(B, 3, H, W)``, ``(B,)``."""
        return self.positive_proba(self(x))

    def embed_and_proba(self, x: torch.Tensor) -> torch.Tensor:
        """One pass giving ``[embedding, p]``: ``(B, D + 1)``."""
        feats = self.net.embed(x)
        p = self.positive_proba(self.net.head(feats))
        return torch.cat([feats.float(), p[:, None]], dim=1)

    @property
    def positive_class(self) -> str:
        if self.class_names is not None:
            return self.class_names[self.positive_index]
        hp = self.hparams.positive_class
        return hp if isinstance(hp, str) else str(hp)

    # --- set-up ---------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        self._resolve_positive()
        super().setup(stage)

    def _resolve_positive(self) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        names = getattr(dm, "class_names", None)
        wanted = self.hparams.positive_class
        if names is not None:
            names = [str(n) for n in names]
            if len(names) != 2:
                raise ValueError(
                    f"model: a real/fake head needs 2 classes, the data has {len(names)} "
                    f"({', '.join(names[:5])}...); set data.label=realfake"
                )
            if isinstance(wanted, str):
                if wanted not in names:
                    raise ValueError(
                        f"model.positive_class={wanted!r} is not a class of the data ({names})"
                    )
                self.positive_index = names.index(wanted)
            self.class_names = names
        elif isinstance(wanted, str) and self.class_names is None:
            raise ValueError(
                f"model.positive_class={wanted!r} is a class name, but the data has no class "
                "names to find it in; give its index instead"
            )
        if self.positive_index not in (0, 1):
            raise ValueError(f"model.positive_class index must be 0 or 1, got {wanted!r}")

    # --- steps ---------------------------------------------------------------------------
    def step(
        self, batch: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = batch
        logits = self(x)
        target = (y == self.positive_index).long()
        return self.cross_entropy(logits, y), self.positive_proba(logits), target

    # --- checkpoints ----------------------------------------------------------------------
    def checkpoint_record(self) -> dict[str, Any]:
        net = self.plain_net
        info: dict[str, Any] = {
            **super().checkpoint_record(),
            "backbone": plain(self.backbone_info),
            "positive_index": int(self.positive_index),
            "positive_class": self.positive_class,
            "class_names": None if self.class_names is None else list(self.class_names),
            "data_config": plain(dict(net.data_config)) if hasattr(net, "data_config") else None,
        }
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if dm is not None and hasattr(dm, "train_split"):
            info["data"] = training_record(dm)
        return info

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        info = checkpoint.get("semsim") or {}
        if "backbone" in info:  # where the trained backbone's weights came from, not this run's
            self.backbone_info = dict(info["backbone"])
        if info.get("class_names"):
            self.class_names = list(info["class_names"])
        if "positive_index" in info:
            self.positive_index = int(info["positive_index"])

    # --- optimisation ----------------------------------------------------------------------
    def param_groups(self) -> list[dict[str, Any]]:
        """The head's parameters, and the backbone's at ``backbone_lr_factor`` x the lr."""
        named = [(n, p) for n, p in self.net.named_parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = [{"params": [p for n, p in named if not _in_backbone(n)]}]
        backbone = [p for n, p in named if _in_backbone(n)]
        if backbone:
            lr_factor = float(self.hparams.backbone_lr_factor)
            groups.append({"params": backbone, "backbone": True, "lr_factor": lr_factor})
        return groups


def _in_backbone(name: str) -> bool:
    return name.startswith(("backbone.", "_orig_mod.backbone."))
