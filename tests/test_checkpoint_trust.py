"""Trust (#13): a checkpoint given to semsim.train / semsim.eval / semsim.pair_score never runs
code, and a file that is not a fitting checkpoint, or an image that cannot be read, is a one-line
error naming the option and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semsim.eval import evaluate
from semsim.train import train
from tests.conftest import compose


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: it creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": _Payload(marker)}}, path)
    return path, marker


def test_the_crafted_checkpoint_really_runs_its_payload_when_unpickled(tmp_path: Path):
    # the premise of the tests below: an unchecked load creates the file
    path, marker = _evil_checkpoint(tmp_path)
    torch.load(path, weights_only=False)
    assert marker.is_file()


@pytest.mark.parametrize("fit", [True, False], ids=["resume", "test_only"])
def test_train_with_a_crafted_ckpt_path_refuses_it_and_runs_nothing(tmp_path: Path, fit: bool):
    path, marker = _evil_checkpoint(tmp_path)
    cfg = compose(
        "train",
        ["experiment=smoke", f"ckpt_path={path}", f"train={fit}", "trainer.max_epochs=1"],
        tmp_path / "run",
    )
    with pytest.raises(ValueError, match=r"ckpt_path: .*evil\.ckpt.*could run code"):
        train(cfg)
    assert not marker.exists()
    assert not (tmp_path / "run" / "checkpoints").exists(), "no work before the check"


@pytest.mark.parametrize("content", [b"", b"not a checkpoint\n", b"\x89PNG\r\n\x1a\n" + bytes(64)])
def test_train_with_a_non_checkpoint_file_is_one_line_naming_it(tmp_path: Path, content: bytes):
    path = tmp_path / "notes.ckpt"
    path.write_bytes(content)
    cfg = compose("train", ["experiment=smoke", f"ckpt_path={path}", "train=false"], tmp_path)
    with pytest.raises(ValueError, match=r"ckpt_path: .*notes\.ckpt") as err:
        train(cfg)
    assert "\n" not in str(err.value)


def test_a_non_lightning_torch_file_is_refused(tmp_path: Path):
    path = tmp_path / "weights.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    cfg = compose("train", ["experiment=smoke", f"ckpt_path={path}", "train=false"], tmp_path)
    with pytest.raises(
        ValueError, match=r"ckpt_path: .*weights\.pth is not a Lightning checkpoint"
    ):
        train(cfg)


def test_eval_refuses_crafted_foreign_and_non_checkpoints(tmp_path: Path):
    path, marker = _evil_checkpoint(tmp_path)
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={path}"], tmp_path / "e1")
    with pytest.raises(ValueError, match=r"ckpt_path: .*evil\.ckpt.*could run code"):
        evaluate(cfg)
    assert not marker.exists()

    # a checkpoint of the other module type: named, before Lightning's state-dict traceback
    other = tmp_path / "realfake.ckpt"
    torch.save({"state_dict": {}, "semsim": {"module": "realfake"}}, other)
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={other}"], tmp_path / "e2")
    with pytest.raises(
        ValueError, match=r"is a realfake checkpoint, but this run builds a classifier"
    ):
        evaluate(cfg)

    # the right type with another network: the mismatch is named
    same = tmp_path / "classifier.ckpt"
    torch.save({"state_dict": {"net.head.weight": torch.zeros(3, 3)}, "semsim": {}}, same)
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={same}"], tmp_path / "e3")
    with pytest.raises(ValueError, match=r"does not fit the configured model \(missing: net\."):
        evaluate(cfg)

    text = tmp_path / "readme.txt"
    text.write_text("hello\n")
    cfg = compose("eval", ["experiment=smoke", f"ckpt_path={text}"], tmp_path / "e4")
    with pytest.raises(ValueError, match=r"ckpt_path: .*readme\.txt"):
        evaluate(cfg)
