"""Render report.html for two real examples and screenshot it into docs/img/ for the README.

1. CIFAR-10 classes: 20 test images a class (200), class x class matrices of one collection.
2. CIFAKE REAL vs FAKE: 20 training images a class and kind (200 a side), labelled by CIFAR-10
   class, so every gallery shows (manifold outliers, per-class typical REAL vs FAKE, class pairs).

    PYTHONPATH=$PWD python docs/screenshots.py --data ../shared/data --out /tmp/semsim_shots

Needs Chromium (``apt-get install chromium``) and ``playwright`` (dev extra). Writes each
example's report folder under ``--out`` and ``docs/img/html_<example>_{top,evidence}.png``.
The pipeline below is what ``semsim.compare`` does, plus the evidence and report.html.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from semsim.analysis import analyse
from semsim.data.sources import cifake, cifar10
from semsim.encoders import EncoderSpec
from semsim.evidence import (
    build_evidence,
    content_hashes,
    find_cross_duplicates,
    image_paths,
    thumbnail_loader,
)
from semsim.features import extract_features
from semsim.report import write_report
from semsim.report.html import write_html

IMG = Path(__file__).resolve().parent / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def run(name: str, coll_a, coll_b, out: Path, cache: Path, title: str) -> Path:
    spec = EncoderSpec(image_size=128)
    fa = extract_features(coll_a, spec, num_workers=0, cache_dir=cache, progress=False)
    fb = None if coll_b is None else extract_features(coll_b, spec, num_workers=0, cache_dir=cache, progress=False)  # fmt: skip
    inputs = {"a": coll_a.describe()} | ({} if coll_b is None else {"b": coll_b.describe()})
    report = analyse(
        fa, fb, encoder=spec.provenance(), inputs=inputs, n_bootstrap=20, seed=0, title=title
    )
    pa = image_paths(coll_a)
    pb = None if coll_b is None else image_paths(coll_b)
    report.sections["evidence"] = build_evidence(fa, fb, paths_a=pa, paths_b=pb, seed=0)
    if fb is not None:
        report.sections["duplicates"] = find_cross_duplicates(
            fa.features, fb.features, content_hashes(coll_a), content_hashes(coll_b),
            paths_a=pa, paths_b=pb,
        )  # fmt: skip
    folder = out / name
    write_report(report, folder)
    return write_html(report, folder, thumbnail_loader(coll_a, coll_b))


def shoot(page_path: Path, name: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(page_path.as_uri())
        page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        page.screenshot(path=str(IMG / f"html_{name}_top.png"))
        ev = page.locator("h2", has_text="Evidence")
        ev.scroll_into_view_if_needed()
        box = ev.bounding_box()
        page.evaluate(f"window.scrollTo(0, {box['y']} + window.scrollY - 10)")
        page.screenshot(path=str(IMG / f"html_{name}_evidence.png"))
        browser.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="/tmp/semsim_shots")
    p.add_argument("--per-class", type=int, default=20)
    args = p.parse_args()
    data, out = Path(args.data), Path(args.out)
    cache = out / "cache"
    IMG.mkdir(parents=True, exist_ok=True)
    n = args.per_class
    c10 = cifar10(root=str(data / "cifar10"), split="test", max_per_class=n)
    page = run("cifar10", c10, None, out, cache, "semsim: class x class similarity of CIFAR-10")
    shoot(page, "cifar10")
    kw = {"root": str(data / "cifake"), "split": "train", "label": "class", "max_per_class": n}
    real, fake = cifake(kinds=["REAL"], **kw), cifake(kinds=["FAKE"], **kw)
    page = run("cifake", real, fake, out, cache, "semsim: CIFAKE REAL vs FAKE")
    shoot(page, "cifake")
    print(f"reports under {out}, screenshots in {IMG}")


if __name__ == "__main__":
    main()
