"""Issue #25 item 6: the messages it lists, each checked."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from PIL import Image
from rich.console import Console

import semsim.data.sources  # noqa: F401  (registers the a=/b= config aliases)
from semsim.compare import compare
from semsim.data.sources.folder import folder
from semsim.encoders import EncoderError, EncoderSpec
from semsim.encoders.backbone import _offline_message
from semsim.encoders.weights import read_checkpoint, short_reason
from semsim.guards import input_notes
from semsim.models.checkpoints import read_lightning_checkpoint
from semsim.report import Report, ScoreResult
from semsim.report.console import print_summary

ROOT = Path(__file__).resolve().parents[1]
FAST = [
    "encoder.pretrained=false", "encoder.image_size=32", "encoder.crop_pct=null", "progress=false",
    "num_workers=0", "matrix_scores=[prototype_cosine]", "noise_floor=false",
]  # fmt: skip


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


def _cfg(tmp_path: Path, *overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "compare",
            overrides=[*FAST, f"cache_dir={tmp_path / 'cache'}", f"out_dir={tmp_path / 'out'}",
                       *overrides],
        )  # fmt: skip


def _images(root: Path, n: int, seed: int = 0, sub: str = "x") -> Path:
    rng = np.random.default_rng(seed)
    (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
            root / sub / f"{i:03d}.png"
        )
    return root


# --- checkpoints -------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"w": [1, 2]}))
    legacy = tmp_path / "legacy.ckpt"  # Lightning-like, with OmegaConf hparams, legacy format
    torch.save(
        {"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": OmegaConf.create({"a": 1})},
        legacy, _use_new_zipfile_serialization=False,
    )  # fmt: skip
    text = tmp_path / "notes.pth"
    text.write_text("hello, these are not weights")
    return {"raw": raw, "legacy": legacy, "text": text}


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("raw", "is a plain pickle, not a file written by torch.save"),
        ("legacy", "is a torch checkpoint in the legacy (pre-1.6, non-zip) format"),
        ("text", "is not a file written by torch.save (nor .safetensors)"),
    ],
)
def test_weights_files_are_named_for_what_they_are(files, kind: str, says: str) -> None:
    path = files[kind]
    with pytest.raises(EncoderError) as e:
        read_checkpoint(path)
    assert str(e.value).startswith(f"encoder.checkpoint: {path} ") and says in str(e.value)
    assert "\n" not in str(e.value)
    for option in ("ckpt_path", "ckpt"):
        with pytest.raises(ValueError) as e2:
            read_lightning_checkpoint(path, option)
        assert str(e2.value).startswith(f"{option}: {path}") and says in str(e2.value)
        assert "not a torch checkpoint" not in str(e2.value)


def test_encoder_checkpoint_option_names_itself_for_a_raw_pickle(files) -> None:
    spec = EncoderSpec(name="tf_efficientnet_lite0", pretrained=False, checkpoint=str(files["raw"]))
    with pytest.raises(ValueError, match=r"^encoder.checkpoint: .*raw.pkl is a plain pickle"):
        spec.build()


def test_offline_reason_is_cut_at_a_word_never_inside_one() -> None:
    words = [f"word{i:03d}" for i in range(80)]
    err = OSError(" ".join(words) + "\nsecond line")
    cut = short_reason(err)
    assert cut.endswith(" ...") and len(cut) <= 164
    assert all(w in words for w in cut.removesuffix(" ...").split())  # whole words only
    msg = _offline_message("resnet50", "timm/resnet50.a1_in1k", err)
    assert "word000" in msg and "second line" not in msg and "encoder.checkpoint=PATH" in msg
    assert short_reason(OSError("short")) == "short"


# --- console -------------------------------------------------------------------------------------
def test_headline_line_is_printed_even_without_a_value() -> None:
    rep = Report(
        inputs={}, encoder={},
        scores={"concept_similarity": ScoreResult(value=None, skipped="needs at least 2 images")},
        method={"headline_score": "concept_similarity"},
    )  # fmt: skip
    console = Console(record=True, width=200)
    print_summary(rep, console)
    text = console.export_text()
    assert "similarity = not available: concept_similarity skipped: needs at least 2 images" in text


def test_ignored_and_skipped_files_are_said(tmp_path: Path) -> None:
    root = _images(tmp_path / "A", 3)
    (root / "x" / "logo.svg").write_text("<svg/>")
    (root / "x" / "junk.dat").write_bytes(b"\0\1")
    (root / "x" / "broken.png").write_bytes(b"not a png")
    (root / "x" / ".hidden").write_text("h")
    coll = folder(root=str(root), on_bad_image="skip")
    notes = input_notes("a", coll)
    assert len(notes) == 2
    assert notes[0].startswith(f"a: 2 file(s) under {root} are not images and were ignored")
    assert "junk.dat" in notes[0] and "logo.svg" in notes[0] and ".hidden" not in notes[0]
    assert notes[1].startswith("a: 1 image(s) skipped as unreadable (on_bad_image=skip)")
    assert "broken.png" in notes[1]


def test_compare_console_says_ignored_files_and_one_image_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _images(tmp_path / "A", 1)
    (a / "x" / "readme.txt").write_text("t")
    b = _images(tmp_path / "B", 4, seed=1)
    compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={b}",
                 "scores=[content_similarity,prototype_cosine]"))  # fmt: skip
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert "a: 1 file(s) under" in text and "readme.txt" in text
    assert "similarity = not available: content_similarity skipped:" in text


def test_a_folder_compared_with_itself_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _images(tmp_path / "A", 12)  # >= 11: the content headline's minimum
    rep = compare(_cfg(tmp_path, "a=folder", f"a.root={a}", "b=folder", f"b.root={a}",
                       "scores=[content_similarity,prototype_cosine]", "n_bootstrap=0"))  # fmt: skip
    assert rep is not None and rep.similarity is not None
    assert rep.similarity.reading.startswith("A and B are the same images")
    captured = capsys.readouterr()
    assert "note: A and B are the same images" in " ".join(captured.err.split())
    assert "A and B are the same images" in (tmp_path / "out" / "report.md").read_text()
