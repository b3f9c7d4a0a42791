"""The docs stay true: links resolve, README's figures are the model card's, its sample output is what the CLI
prints, the front page and how-to stay short, and the tree is lint-clean."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "results" / "REPORT.md",
        ROOT / "samples" / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def anchors(markdown: Path) -> set[str]:
    """GitHub's anchors of a markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    out, seen = set(), {}
    in_code = False
    for line in markdown.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links(markdown: Path) -> list[str]:
    """Every link target of a markdown file outside code blocks that is not a URL."""
    text = re.sub(r"```.*?```", "", markdown.read_text(), flags=re.S)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


def test_anchor_slugs_follow_github():
    assert {"adapting-to-one-speaker", "on-a-raspberry-pi"} <= anchors(ROOT / "docs" / "device.md")
    assert "features-feature-pipeline-version-2" in anchors(ROOT / "docs" / "training.md")


@pytest.mark.parametrize("markdown", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(markdown):
    broken = []
    for target in relative_links(markdown):
        path, _, anchor = target.partition("#")
        file = (markdown.parent / path).resolve() if path else markdown
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, broken


def test_docs_cite_no_ignored_folder():
    """Evidence is in the repository: no doc cites the ignored cache or an untracked run folder."""
    tracked = set(subprocess.run(["git", "ls-files", "runs"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split())
    run_folders = {Path(f).parts[1] for f in tracked}
    for markdown in DOCS:
        text = markdown.read_text()
        assert "cache/exp" not in text and "runs/experiments/" not in text.replace("8d965f3:runs/experiments/", "")
        for name in re.findall(r"`runs/([\w.*-]+)", text):
            assert any(re.fullmatch(name.replace("*", ".*"), f) for f in run_folders), (markdown.name, name)


def test_front_page_and_how_to_stay_short():
    assert len((ROOT / "README.md").read_bytes()) <= 8 * 1024
    assert len((ROOT / "docs" / "training.md").read_bytes()) <= 24 * 1024
    assert not subprocess.run(["git", "ls-files", "runs/experiments", "cache"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout


def test_readme_results_table_is_the_model_cards():
    from benchmarks.card_table import CARD, END, START, results_table

    readme = (ROOT / "README.md").read_text()
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == results_table(json.loads(CARD.read_text())), \
        "README's results table is stale: python -m benchmarks.card_table --write README.md"


def test_readme_sample_output_is_what_classify_prints():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- classify-samples -->", 1)[1].split("```", 2)[1].strip().splitlines()
    proc = subprocess.run([sys.executable, "-m", "edge_runtime", "classify", "samples/"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip().splitlines()

    def without_timing(lines):            # the last column is milliseconds, which move from run to run
        return [line.rsplit(None, 1)[0] for line in lines]
    assert without_timing(block) == without_timing(printed)


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        if os.environ.get("CI"):
            pytest.fail("ruff is not installed (pip install -e '.[dev]')")
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
