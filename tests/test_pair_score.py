"""``semsim.pair_score``: the pair score of two image files with a trained real/fake checkpoint.

The reference probabilities come from timm's own eval transform (``create_transform``) and a plain
forward pass of the network the checkpoint was made from, not from the scorer's loading code.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semsim.models import RealFakeModule, RealFakeNet
from semsim.pair_score import PairScorer, main, parse_args, score_pair


def _checkpoint(tmp_path: Path) -> tuple[Path, RealFakeModule]:
    """A random backbone with a linear head set so that image 0 gets p ~ 0.12 and image 1
    p ~ 0.88 (random features differ too little for a random head to tell images apart)."""
    from timm.data import create_transform

    torch.manual_seed(0)
    net = RealFakeNet("test_resnet", num_classes=2, image_size=32, hidden=[]).eval()
    transform = create_transform(**net.data_config)
    a, b = (transform(Image.open(p).convert("RGB")) for p in _images(tmp_path)[:2])
    with torch.no_grad():
        ea, eb = net.embed(torch.stack([a, b]))
        direction = (eb - ea) / (eb - ea).square().sum()
        linear = net.head.layers[-1]
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[1] = 4.0 * direction
        linear.bias[1] = -4.0 * float(direction @ (ea + eb) / 2)
    module = RealFakeModule(net, optimizer=partial(torch.optim.AdamW, lr=1e-3))
    module.class_names = ["REAL", "FAKE"]
    ckpt = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(ckpt)
    path = tmp_path / "realfake.ckpt"
    torch.save(ckpt, path)
    return path, module.eval()


def _images(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    if (tmp_path / "img2.png").is_file():
        return [tmp_path / f"img{i}.png" for i in range(3)]
    for i, level in enumerate((30, 220, 120)):
        arr = (rng.integers(0, 60, (32, 32, 3)) + level).clip(0, 255).astype(np.uint8)
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(arr).save(paths[-1])
    return paths


def _reference_p(module: RealFakeModule, path: Path) -> float:
    from timm.data import create_transform

    transform = create_transform(**module.net.data_config)
    x = transform(Image.open(path).convert("RGB"))[None]
    with torch.no_grad():
        return float(module.net(x).softmax(1)[0, 1])


def test_pair_score_of_two_files_matches_a_plain_forward(tmp_path: Path, capsys):
    ckpt, module = _checkpoint(tmp_path)
    a, b, c = _images(tmp_path)
    pa, pb, pc = (_reference_p(module, p) for p in (a, b, c))
    assert pa < 0.2 and pb > 0.8, "the check needs images the head tells apart"

    out = score_pair(ckpt, a, b)
    assert out["p_fake_a"] == pytest.approx(pa, abs=1e-5)
    assert out["p_fake_b"] == pytest.approx(pb, abs=1e-5)
    assert out["pair_score"] == pytest.approx(1 - abs(pa - pb), abs=1e-5)

    assert main([f"ckpt={ckpt}", f"a={a}", f"b={c}"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["pair_score"] == pytest.approx(1 - abs(pa - pc), abs=1e-5)


def test_pair_score_is_symmetric_and_one_for_the_same_image(tmp_path: Path):
    ckpt, _ = _checkpoint(tmp_path)
    a, b, _ = _images(tmp_path)
    scorer = PairScorer.from_checkpoint(ckpt)
    assert scorer.score(a, a)["pair_score"] == pytest.approx(1.0)
    assert scorer.score(a, b)["pair_score"] == pytest.approx(scorer.score(b, a)["pair_score"])
    p = scorer.proba([a, b, Image.open(a)])
    assert p.shape == (3,) and p[0] == pytest.approx(p[2]) and ((p >= 0) & (p <= 1)).all()


def test_command_line_errors_are_one_line(tmp_path: Path, capsys):
    ckpt, _ = _checkpoint(tmp_path)
    a, _, _ = _images(tmp_path)
    assert main([f"ckpt={ckpt}", f"a={a}"]) == 2
    assert "missing b" in capsys.readouterr().err
    assert main([f"ckpt={ckpt}", f"a={a}", f"b={tmp_path / 'nope.png'}"]) == 2
    assert "nope.png" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown argument"):
        parse_args(["ckpt=x", "a=y", "b=z", "colour=red"])


def test_a_classifier_checkpoint_is_refused(tmp_path: Path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}, "semsim": {"net": {"backbone": "test_resnet"}}}, path)
    a, b, _ = _images(tmp_path)
    with pytest.raises(ValueError, match="not a real/fake checkpoint"):
        score_pair(path, a, b)


def test_unreadable_images_and_non_checkpoints_are_one_line_errors(tmp_path: Path, capsys):
    ckpt, _ = _checkpoint(tmp_path)
    a, _, _ = _images(tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(a.read_bytes()[:100])
    for bad in (empty, truncated):
        with pytest.raises(ValueError, match=rf"{bad.name}: cannot read the image"):
            score_pair(ckpt, a, bad)
        assert main([f"ckpt={ckpt}", f"a={bad}", f"b={a}"]) == 2
        err = capsys.readouterr().err.strip()
        assert bad.name in err and "\n" not in err

    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match=r"^ckpt: .*notes\.ckpt"):
        score_pair(text, a, a)


def test_a_crafted_checkpoint_does_not_run(tmp_path: Path):
    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned.txt"), "w"))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "semsim": {"module": "realfake", "x": Payload()}}, path)
    a, _, _ = _images(tmp_path)
    with pytest.raises(ValueError, match=r"^ckpt: .*could run code"):
        score_pair(path, a, a)
    assert not (tmp_path / "pwned.txt").exists()
