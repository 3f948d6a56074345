"""The report's Method section, generated from the encoder's provenance and the registry entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from semsim.analysis.naming import report_name, resolve_scores
from semsim.metrics import ScoreDef
from semsim.report.notes import FLOOR_DEFINITION

ENCODER_PAPERS: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite": ("EfficientNet (Tan & Le 2019)", "https://arxiv.org/abs/1905.11946"),
    "inception": ("Inception-v3 (Szegedy et al. 2016)", "https://arxiv.org/abs/1512.00567"),
    "swin": ("Swin Transformer (Liu et al. 2021)", "https://arxiv.org/abs/2103.14030"),
    "dinov2": ("DINOv2 (Oquab et al. 2023)", "https://arxiv.org/abs/2304.07193"),
    "clip": ("CLIP (Radford et al. 2021)", "https://arxiv.org/abs/2103.00020"),
    "vit": ("ViT (Dosovitskiy et al. 2021)", "https://arxiv.org/abs/2010.11929"),
}

FAMILIES: dict[str, str] = {
    "content": "Content scores say whether the same things are depicted in the same proportions.",
    "rendering": "Rendering scores also see how they are depicted (resolution, compression, "
    "blur, colour, generator artefacts): a blurred copy of a collection can score as far from it "
    "as a different class.",
}


def _score_sentences(defs: Sequence[ScoreDef]) -> list[str]:
    """Each score's ``method`` (else its meaning); a score without ``method`` text whose engine
    was already described by a sibling's (recall after precision) adds nothing."""
    out: list[str] = []
    described: set[object] = set()
    for d in defs:
        if d.method:
            out.append(d.method)
            described.add(d.engine)
        elif d.engine not in described:
            out.append(f"`{d.name}`: {d.meaning}.")
    return out


def method_section(
    encoder: Mapping[str, Any], scores: Sequence[str], n_bootstrap: int, noise_floor: bool
) -> dict[str, Any]:
    """The report's "Method" text and references for these encoder and scores.

    Every sentence about a score comes from its registry entry (``method`` or ``meaning``,
    ``interval``, ``paper``/``paper_title``), grouped by family.
    """
    defs = resolve_scores(scores)
    enc_name = str(encoder.get("name", "?"))
    weights = encoder.get("weights", "?")
    text = [
        f"Every image is embedded by the frozen encoder `{enc_name}` (weights `{weights}`, its "
        "own evaluation preprocessing; pooled pre-logit features, or its class-head logits for "
        "scores on concepts). All scores compare the two sets of vectors, so they measure what "
        "this encoder represents, not pixels.",
    ]
    for family, intro in FAMILIES.items():
        fam = [d for d in defs if d.family == family]
        if fam:
            text.append(f"{intro} " + " ".join(_score_sentences(fam)))
    headline = next((d for d in defs if d.headline), None)
    if headline is not None:
        text.append(f"The headline `similarity` is `{headline.name}`: {headline.meaning}.")
    if n_bootstrap >= 2:
        own = [d for d in defs if d.interval]
        line = (
            f"95% intervals come from {n_bootstrap} half-samples of both sets drawn without "
            "replacement (which reproduces the full-size sampling variance, Shao & Wu 1989, "
            "without the duplicated rows of a classic bootstrap), centred on the reported value"
        )
        line += "".join(f"; `{d.name}` uses the {d.interval}" for d in own) + "."
        text.append(line)
    if noise_floor:
        text.append(FLOOR_DEFINITION)
    refs: list[dict[str, str]] = []
    for prefix, (title, url) in ENCODER_PAPERS.items():
        if enc_name.startswith(prefix) or prefix in enc_name:
            refs.append({"name": "encoder", "title": title, "url": url})
            break
    by_paper: dict[str, list[ScoreDef]] = {}
    for d in defs:
        if d.paper:
            by_paper.setdefault(d.paper, []).append(d)
    for url, ds in by_paper.items():
        title = ds[0].paper_title or ds[0].name
        refs.append({"name": ", ".join(d.name for d in ds), "title": title, "url": url})
    if n_bootstrap >= 2:
        refs.append(
            {
                "name": "intervals",
                "title": "A general theory for jackknife variance estimation (Shao & Wu 1989)",
                "url": "https://doi.org/10.1214/aos/1176347263",
            }
        )
    floors = {report_name(d, encoder): d.noise_floor for d in defs}  # read by report/notes.py
    return {"summary": "\n\n".join(text), "references": refs, "noise_floors": floors}
