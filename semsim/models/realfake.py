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

import numpy as np
import torch
import torch.nn.functional as F
from lightning import LightningModule
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryCalibrationError

from semsim.models.nets import TimmClassifier


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


class RealFakeModule(LightningModule):
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
        super().__init__()
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
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
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
            setattr(self, f"{stage}_loss", MeanMetric())
        for stage in ("val", "test"):
            setattr(self, f"{stage}_auc", BinaryAUROC())
            setattr(self, f"{stage}_ece", BinaryCalibrationError(n_bins=ece_bins, norm="l1"))
        self.val_acc_best = MaxMetric()

    # --- mode -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> RealFakeModule:
        """Set the mode; a frozen backbone stays in eval mode (BatchNorm statistics fixed)."""
        super().train(mode)
        if self.freeze_backbone:
            self.net.backbone.train(False)
        return self

    # --- inference ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone embeddings ``(B, D)``; what the similarity callbacks measure."""
        return self.net.embed(x)

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
        if self.hparams.compile and stage == "fit":
            self.net = torch.compile(self.net)

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

    # --- steps ----------------------------------------------------------------------------
    def _step(
        self, batch: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.hparams.label_smoothing)
        p = self.positive_proba(logits)
        target = (y == self.positive_index).long()
        return loss, p, target

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, p, target = self._step(batch)
        self.train_loss(loss)
        self.train_acc(p, target)
        self.log("train/loss", self.train_loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _eval_step(self, stage: str, batch) -> None:
        loss, p, target = self._step(batch)
        # update, not forward: epoch values only (a batch may hold a single kind, where AUC is
        # undefined)
        getattr(self, f"{stage}_loss").update(loss)
        for name in ("acc", "auc", "ece"):
            getattr(self, f"{stage}_{name}").update(p, target)
        self.log(f"{stage}/loss", getattr(self, f"{stage}_loss"), on_step=False, on_epoch=True)
        for name in ("acc", "auc", "ece"):
            self.log(
                f"{stage}/{name}",
                getattr(self, f"{stage}_{name}"),
                on_step=False,
                on_epoch=True,
                prog_bar=name == "acc",
            )

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step("val", batch)

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_train_start(self) -> None:
        self.val_loss.reset()
        self.val_acc.reset()
        self.val_acc_best.reset()

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_acc.compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    # --- checkpoints ----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # plain types only, so the checkpoint loads with torch.load(weights_only=True)
        net = self.net._orig_mod if hasattr(self.net, "_orig_mod") else self.net
        info: dict[str, Any] = {
            "net": dict(net.describe()) if hasattr(net, "describe") else {},
            "module": "realfake",
            "backbone": _plain(self.backbone_info),
            "positive_index": int(self.positive_index),
            "positive_class": self.positive_class,
            "class_names": None if self.class_names is None else list(self.class_names),
            "data_config": _plain(dict(net.data_config)) if hasattr(net, "data_config") else None,
        }
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if dm is not None and hasattr(dm, "train_split"):
            info["data"] = training_record(dm)
        checkpoint["semsim"] = info

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        info = checkpoint.get("semsim") or {}
        if "backbone" in info:  # where the trained backbone's weights came from, not this run's
            self.backbone_info = dict(info["backbone"])
        if info.get("class_names"):
            self.class_names = list(info["class_names"])
        if "positive_index" in info:
            self.positive_index = int(info["positive_index"])

    # --- optimisation ---------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        head = [
            p for n, p in self.net.named_parameters() if not _in_backbone(n) and p.requires_grad
        ]
        backbone = [
            p for n, p in self.net.named_parameters() if _in_backbone(n) and p.requires_grad
        ]
        groups: list[dict[str, Any]] = [{"params": head}]
        if backbone:
            groups.append({"params": backbone, "backbone": True})
        optimizer = self.optimizer_factory(params=groups)
        for g in optimizer.param_groups:
            if g.get("backbone"):
                g["lr"] = g["lr"] * float(self.hparams.backbone_lr_factor)
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=max(1, total))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


# --- what a similarity report says about the module's embedding -------------------------------
def encoder_info(module: Any, key: str | None, stage: str) -> tuple[dict[str, Any], bool]:
    """The report's ``encoder`` entry, and whether the features are the official FID ones.

    The Fréchet distance is called ``fid`` only for the frozen ``inception_fid`` backbone with its
    pretrained (official TF 2015-12-05) weights; otherwise it is ``fd_<key>`` with the key saying
    what happened to the weights (``_random``, ``_finetuned``, ``_trained``).
    """
    from semsim.encoders import default_key

    info = dict(getattr(module, "backbone_info", {}) or {})
    net = getattr(module, "net", None)
    name = str(info.get("name") or getattr(net, "backbone_name", "model"))
    weights = str(info.get("weights", "unknown"))
    frozen = bool(info.get("frozen", False))
    official = name == "inception_fid" and weights == "pretrained" and frozen
    if not frozen:
        state = "trained" if weights == "random-init" else "finetuned"
    else:
        state = "random" if weights == "random-init" else ""
    base = key or default_key(name)
    out = {
        "name": name if (official or name != "inception_fid") else f"{name}:{state or 'custom'}",
        "key": f"{base}_{state}" if state and not key else base,
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


def _in_backbone(name: str) -> bool:
    return name.startswith(("backbone.", "_orig_mod.backbone."))


def _plain(obj: Any) -> Any:
    """Tuples to lists and numpy scalars to Python, recursively (weights-only-loadable)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
