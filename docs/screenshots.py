"""Run `semsim compare` on two real examples and screenshot their report.html into docs/img/.

1. CIFAR-10 classes: 20 test images a class (200), class x class matrices of one collection.
2. CIFAKE REAL vs FAKE: 20 training images a class and kind (200 a side), labelled by CIFAR-10
   class, so every gallery shows (manifold outliers, per-class typical REAL vs FAKE, class pairs).

    make screenshots SHOTS_DATA=/path/to/data
    PYTHONPATH=$PWD .venv/bin/python docs/screenshots.py --data /path/to/data --out /tmp/shots

``--data`` holds ``cifar10/`` and ``cifake/``. Each example is the command line's own pipeline
(:func:`semsim.overrides.check_overrides` then :func:`semsim.compare.compare`, as
``semsim compare`` runs it), with EfficientNet-Lite0 at 128 px and 20 half-sample intervals to
keep it to minutes on a CPU. Writes each report folder under ``--out`` and
``docs/img/html_<example>_{top,evidence}.png``. Needs Chromium (``apt-get install chromium``, or
``SEMSIM_CHROMIUM=/path/to/chrome``) and ``playwright`` (dev extra; no browser download).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

IMG = Path(__file__).resolve().parent / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
CHROMIUM = os.environ.get("SEMSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def examples(data: Path, n: int) -> dict[str, list[str]]:
    """Override lists of the two examples (what `semsim compare` would be given)."""
    side = lambda s, kind: [f"{s}=cifake", f"{s}.root={data / 'cifake'}", f"{s}.split=train",  # noqa: E731
                            f"{s}.kinds=[{kind}]", f"{s}.label=class", f"{s}.max_per_class={n}"]  # fmt: skip
    return {
        "cifar10": [
            "a=cifar10",
            f"a.root={data / 'cifar10'}",
            "a.split=test",
            f"a.max_per_class={n}",
        ],
        "cifake": [*side("a", "REAL"), *side("b", "FAKE")],
    }


def run(name: str, overrides: list[str], out: Path) -> Path:
    """One `semsim compare` (report files included); returns its report.html."""
    from semsim.compare import compare
    from semsim.overrides import check_overrides

    folder = out / name
    common = ["encoder.image_size=128", "n_bootstrap=20", "num_workers=0", "progress=false",
              f"out_dir={folder}", f"cache_dir={out / 'cache'}"]  # fmt: skip
    compare(check_overrides("compare", [*overrides, *common]))
    return folder / "report.html"


def shoot(page_path: Path, name: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data", help="folder holding cifar10/ and cifake/")
    p.add_argument("--out", default="/tmp/semsim_shots")
    p.add_argument("--per-class", type=int, default=20)
    args = p.parse_args()
    data, out = Path(args.data), Path(args.out)
    missing = [d for d in ("cifar10", "cifake") if not (data / d).is_dir()]
    if missing:
        print(f"error: --data {data} has no {' or '.join(missing)} folder", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM} (apt-get install chromium, or set "
              "SEMSIM_CHROMIUM)", file=sys.stderr)  # fmt: skip
        return 2
    IMG.mkdir(parents=True, exist_ok=True)
    for name, overrides in examples(data, args.per_class).items():
        shoot(run(name, overrides, out), name)
    print(f"reports under {out}, screenshots in {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
