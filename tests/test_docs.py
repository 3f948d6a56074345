"""README.md and docs/ stay true: no placeholders, no dead links, numbers equal their source.

The numbers mechanism is docs/measured.py (described in docs/numbers.md): measured values live in
docs/generated/*.json, written by the script that measured them, and pages quote them in marked
regions. These tests fail when a page's number differs from its file, when the README holds a
measurement outside a region, on ``TODO``/``TBD``/``EVIDENCE_MEASURED``, on a relative link or
anchor that leads nowhere, and on a page missing from the site's navigation.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


numbers = _load("measured")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"\b(TODO|TBD|EVIDENCE_MEASURED|FIXME|XXX)\b")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code (where links and numbers are prose)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading (mkdocs' toc gives the same for these pages' headings)."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text("utf-8"), flags=re.DOTALL | re.MULTILINE)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def dead_links(path: Path) -> list[str]:
    """Relative links of a page whose file or ``#anchor`` does not exist."""
    dead = []
    for target in LINK.findall(_prose(path.read_text("utf-8"))):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            dead.append(f"{path.name}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            dead.append(f"{path.name}: {target} (no heading #{anchor} in {dest.name})")
    return dead


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_placeholders(page: Path) -> None:
    hits = [
        f"{page.name}:{i}: {line.strip()}"
        for i, line in enumerate(page.read_text("utf-8").splitlines(), 1)
        if PLACEHOLDER.search(line)
    ]
    assert not hits, "placeholders left in the docs:\n" + "\n".join(hits)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    assert not dead_links(page)


def test_a_dead_link_and_a_dead_anchor_are_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `semsim` command\n", "utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#the-semsim-command) [ok](#here) [web](https://example.org/x)\n"
        "# Here\n[gone](missing.md) [bad anchor](other.md#nowhere) `[code](skip.md)`\n",
        "utf-8",
    )
    assert dead_links(page) == [
        "page.md: missing.md (no such file)",
        "page.md: other.md#nowhere (no heading #nowhere in other.md)",
    ]


def test_placeholder_pattern_finds_each_placeholder() -> None:
    for word in ("TODO", "TBD", "EVIDENCE_MEASURED"):
        assert PLACEHOLDER.search(f"GPU figures: {word} (later)")
    assert not PLACEHOLDER.search("TBDX todos")


def test_every_page_number_equals_its_generated_file() -> None:
    assert numbers.check() == []


def test_regions_are_used() -> None:
    """The README quotes measured numbers through regions, and the benchmark tables are regions."""
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(list(numbers.REGION.finditer(readme))) >= 5
    bench = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    assert sum(1 for m in numbers.REGION.finditer(bench) if m["tkey"]) >= 6


def test_a_changed_number_fails_and_sync_restores_it(tmp_path: Path) -> None:
    original = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    page = tmp_path / "benchmarks.md"
    value = numbers.render_value("bench_metrics/lowrank_time")
    changed = original.replace(
        f"<!-- n:bench_metrics/lowrank_time -->{value}<!-- /n -->",
        "<!-- n:bench_metrics/lowrank_time -->0.21 s<!-- /n -->",
    )
    row = numbers.load("bench_metrics")["tables"]["fd"]["rows"][0]
    changed = changed.replace(f"| {row[1]} |", "| 9.99 s |", 1)
    assert changed.count("9.99 s") == 1 and "0.21 s" in changed
    page.write_text(changed, "utf-8")
    errors = numbers.check([page])
    assert len(errors) == 2
    assert any("bench_metrics/lowrank_time reads '0.21 s'" in e for e in errors)
    assert any("bench_metrics/fd" in e and "9.99 s" in e for e in errors)
    assert numbers.sync([page]) == [page]
    assert page.read_text("utf-8") == original and numbers.check([page]) == []


def test_unknown_keys_and_sources_fail(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- n:bench_metrics/nope -->1<!-- /n --> <!-- n:hand_typed/x -->2<!-- /n -->\n"
        "<!-- table:bench_metrics/nope -->\n<!-- /table -->\n",
        "utf-8",
    )
    errors = numbers.check([page])
    assert len(errors) == 3
    assert "no value 'nope'" in errors[0] and "no SOURCES entry" in errors[1]
    assert "no table 'nope'" in errors[2]


URL = re.compile(r"https?://\S+")  # to the next whitespace: the address and its closing marks
MEASUREMENT = re.compile(r"(?<![\w.])\d[\d,]*(\.\d+)?\s?(%|x\b|s\b|ms\b|MiB\b|GiB\b|img/s\b)")


def test_readme_quotes_no_measurement_outside_a_region() -> None:
    """A decimal with a unit in the README's prose must come from a region (95% is a choice)."""
    prose = numbers.REGION.sub("", _prose((ROOT / "README.md").read_text("utf-8")))
    prose = URL.sub("", prose)  # a link's address is not prose (a DOI holds "6%3C")
    found = [m.group(0) for m in MEASUREMENT.finditer(prose) if m.group(0) != "95%"]
    assert not found, f"README numbers typed by hand (put them in a region): {found}"
    assert MEASUREMENT.search("took 2.38 s, 11.2x faster") and not MEASUREMENT.search("v0.29.1")
    assert URL.sub("", "see https://doi.org/10.1/x(1)6%3C2 took 2 s") == "see  took 2 s"


def test_generated_files_say_who_wrote_them() -> None:
    files = sorted(numbers.GENERATED.glob("*.json"))
    assert {f.stem for f in files} == set(numbers.SOURCES)
    for f in files:
        data = json.loads(f.read_text("utf-8"))
        assert data["argv"] and data["date"] and data["load_average"], f.name
        assert data["source"] == numbers.SOURCES[f.stem].command, f.name
        for name, t in data["tables"].items():
            assert all(len(r) == len(t["columns"]) for r in t["rows"]), f"{f.name}: {name}"


def test_readme_is_short_and_every_page_is_in_the_site() -> None:
    assert len((ROOT / "README.md").read_text("utf-8").splitlines()) < 300
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))

    def pages(nav) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        items = nav.values() if isinstance(nav, dict) else nav
        return [p for item in items for p in pages(item)]

    in_nav = pages(cfg["nav"])
    on_disk = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert sorted(in_nav) == on_disk


def test_readme_picture_is_made_by_the_screenshot_script(tmp_path: Path) -> None:
    """The README's picture is one `make screenshots` writes, and its compare commands are valid
    `semsim compare` options (the script runs the command line's own pipeline)."""
    from semsim.overrides import check_overrides

    shots = _load("screenshots")
    readme = (ROOT / "README.md").read_text("utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+)\)", readme)
    names = shots.examples(tmp_path, 20)
    made = {f"docs/img/html_{n}_{part}.png" for n in names for part in ("top", "evidence")}
    assert pictures and set(pictures) <= made
    assert all((ROOT / p).is_file() for p in pictures)
    for overrides in names.values():
        cfg = check_overrides("compare", [*overrides, f"out_dir={tmp_path / 'out'}"])
        assert cfg.a.max_per_class == 20


def test_experiments_writer_reads_a_report(tmp_path: Path, monkeypatch) -> None:
    """docs/experiments.py turns a report.json (the documented shape) into the pages' tables."""
    from semsim.report import validate_report_dict

    monkeypatch.setattr(numbers, "GENERATED", tmp_path)
    experiments = _load("experiments")
    monkeypatch.setattr(experiments, "record", numbers.record)
    labels = ["cat", "dog", "ship"]
    score = {"ci": [0.5, 0.7], "noise_floor": 0.9, "higher_is_more_similar": True}
    report = {
        "similarity": {"value": 0.61, "ci": [0.5, 0.7], "basis": "content_x"},
        "inputs": {"a": {"name": "set_a", "n_images": 30}, "b": {"name": "set_b", "n_images": 30}},
        "encoder": {"key": "toy"},
        "scores": {
            "content_x": {**score, "value": 0.61, "family": "content"},
            "c2st": {**score, "value": 0.853, "family": "rendering", "noise_floor": None},
            "fd_toy": {"value": None, "ci": None, "noise_floor": None, "skipped": "too few"}
            | {"higher_is_more_similar": False},
        },
        "matrices": {
            "content_x": {
                "labels": labels,
                "values": [[1, 0.8, 0.05], [0.8, 1, 0.2], [0.05, 0.2, 1]],
            },
            "fd_toy": {
                "labels": labels,
                "higher_is_more_similar": False,
                "values": [[0, 3, 9], [3, 0, 7], [9, 7, 0]],
            },
        },  # fmt: skip
        "meta": {"total_s": 302.0},
    }
    validate_report_dict(report)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "report.json").write_text(json.dumps(report), "utf-8")

    assert experiments.main(["cifar10_compare", str(tmp_path / "run")]) == 0
    data = json.loads((tmp_path / "experiment_cifar10_compare.json").read_text("utf-8"))
    rows = data["tables"]["pairs"]["rows"]
    assert rows[0] == [
        "`content_x` (the headline per pair)",
        "cat/dog 0.80, dog/ship 0.20, cat/ship 0.050",
        "cat/ship 0.050, dog/ship 0.20, cat/dog 0.80",
    ]
    assert rows[1][1] == "cat/dog 3.00, dog/ship 7.00, cat/ship 9.00"  # lower is more similar
    assert data["values"] == {"wall": "5 min 2 s"}

    assert experiments.main(["cifake_compare", str(tmp_path / "run")]) == 0
    data = json.loads((tmp_path / "experiment_cifake_compare.json").read_text("utf-8"))
    assert data["values"] == {
        "similarity": "0.61", "c2st": "0.85", "c2st_acc": "85.3%", "wall": "5 min 2 s"
    }  # fmt: skip
    assert data["tables"]["scores"]["rows"][0][2] == "**0.61** (0.50-0.70), noise floor 0.90"
    assert experiments.main(["cifake_compare", str(tmp_path / "none")]) == 2


def test_mkdocs_builds_offline_and_strict(tmp_path: Path) -> None:
    """`make docs`: the whole site builds with --strict (dead links, anchors, pages off the nav)."""
    pytest.importorskip("material", reason="mkdocs-material is the [docs] extra")
    if shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists():
        pytest.skip("mkdocs not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "benchmarks.html").is_file()


@pytest.mark.slow  # a minute under load: every score's class matrix, even at toy sizes
def test_bench_metrics_record_writes_the_tables_the_page_includes(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """bench/metrics.py --record, at toy sizes: every key the pages quote is written."""
    monkeypatch.setattr(numbers, "GENERATED", tmp_path)
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "bench" / "metrics.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setitem(sys.modules, "docs.measured", numbers)
    fd = bench.bench_fd(32, 200, 20)
    mat = bench.bench_class_matrix(8, 20, 3, check=False)
    bench.record_metrics(fd, mat, 0.0)
    capsys.readouterr()
    data = json.loads((tmp_path / "bench_metrics.json").read_text("utf-8"))
    pages = "".join(p.read_text("utf-8") for p in PAGES)
    quoted = {m["nkey"] or m["tkey"] for m in numbers.REGION.finditer(pages)}
    wanted = {k.split("/")[1] for k in quoted if k.startswith("bench_metrics/")}
    assert wanted <= set(data["values"]) | set(data["tables"])
    assert data["tables"]["fd"]["rows"][1][0] == "scipy `sqrtm`"
    assert all(len(r) == 3 for r in data["tables"]["matrix"]["rows"])
    assert data["values"]["matrix_x_gram"].endswith("x")


def test_run_writers_read_a_run_folder(tmp_path: Path, monkeypatch) -> None:
    """docs/experiments.py cifar10_cpu / cifake_cpu on a run folder laid out as semsim.train's."""
    monkeypatch.setattr(numbers, "GENERATED", tmp_path)
    experiments = _load("experiments")
    monkeypatch.setattr(experiments, "record", numbers.record)
    run = tmp_path / "run"
    metrics = {"test/acc": 0.7812, "val/acc_best": 0.793, "test/auc": 0.99671, "test/ece": 0.007}
    (run / "similarity" / "pretrained").mkdir(parents=True)
    (run / "similarity" / "test").mkdir()
    (run / "optimized_metric.json").write_text(json.dumps({"metrics": metrics}), "utf-8")
    (run / "task.log").write_text(
        "[2026-11-28 18:00:00,001][semsim][INFO] - start\nno stamp\n"
        "[2026-11-28 18:06:52,900][semsim][INFO] - done\n",
        "utf-8",
    )
    labels = ["cat", "dog", "ship"]
    for stage, v in (("pretrained", [0.9, 0.8, 0.7]), ("test", [0.6, 0.2, 0.1])):
        m = [[1, v[0], v[1]], [v[0], 1, v[2]], [v[1], v[2], 1]]
        report = {"matrices": {"prototype_cosine": {"labels": labels, "values": m}},
                  "meta": {"pair_score_means": {"real_real": 0.9214, "real_fake": 0.0821}}}  # fmt: skip
        if stage == "test":  # REAL vs FAKE in the report's encoder
            report |= {
                "encoder": {"key": "effnet_lite0", "image_size": 128},
                "inputs": {"a": {"n_images": 500}, "b": {"n_images": 500}},
                "scores": {
                    "content_similarity": {"value": 0.556, "ci": [0.5285, 0.5827]},
                    "indistinguishability": {"value": 0.286, "ci": [0.2437, 0.3325]},
                    "c2st": {"value": 0.857, "noise_floor": 0.5},
                    "fd_effnet_lite0": {
                        "value": 419.35,
                        "ci": [408.08, 429.22],
                        "noise_floor": 312.69,
                    },
                    "precision": {"value": 0.618},
                },
            }
        (run / "similarity" / stage / "report.json").write_text(json.dumps(report), "utf-8")

    assert experiments.main(["cifar10_cpu", str(run)]) == 0
    data = json.loads((tmp_path / "experiment_cifar10_cpu.json").read_text("utf-8"))
    assert data["values"] == {"test_acc": "78.1%", "val_acc_best": "79.3%", "wall": "6 min 52 s"}
    fine = data["tables"]["finetune"]["rows"]
    assert fine[0] == ["mean off-diagonal cosine", "0.80", "0.30"]  # (0.9 + 0.8 + 0.7) / 3
    assert fine[1][2] == "cat/dog 0.60, cat/ship 0.20, dog/ship 0.10"
    assert fine[2][1] == "dog/ship 0.70, cat/ship 0.80"

    assert experiments.main(["cifake_cpu", str(run)]) == 0
    rows = json.loads((tmp_path / "experiment_cifake_cpu.json").read_text("utf-8"))["tables"]
    rows = dict(map(tuple, rows["cifake_cpu"]["rows"]))
    assert rows["test AUC / ECE"] == "0.9967 / 0.0070"
    assert rows["pair score, mean over real-real / real-fake pairs"] == "0.921 / 0.082"
    case = ("REAL vs FAKE in the run's report encoder, `effnet_lite0` @128 px (500 + 500 test "
            "images; the training run's test stage)")  # fmt: skip
    assert rows[case] == (
        "`content_similarity` 0.56 (0.53-0.58), `indistinguishability` 0.29 (0.24-0.33) (C2ST "
        "accuracy 0.86), `fd_effnet_lite0` 419.4 (408.1-429.2), noise floor 312.7, precision 0.62"
    )
    assert experiments.main(["cifar10_cpu", str(tmp_path / "nowhere")]) == 2
