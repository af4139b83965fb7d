"""The repository stands alone: nothing in it points at files outside it.

The lessons once sent readers to a notes folder next to the checkout, which a
clone does not have. These tests read every file git tracks (so they see what a
fresh clone sees) and fail on any mention of such a folder, and on any Markdown
link — in ``.md`` files and in notebooks' Markdown cells — whose target lies
outside the repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Spelled in pieces so this file does not match itself.
_UP = r"\.\." + "/"
FORBIDDEN = re.compile(
    "|".join(
        [
            _UP + "shared",  # the sibling folder of the checkout
            "/" + "work" + "/",  # the machine's absolute paths
            "shared" + "/" + "notes",
            "the two " + r"notes (?:in|at|from)\b",
        ]
    ),
    re.IGNORECASE,
)
# A Markdown link or image target: [text](target) or ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _tracked() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (e.g. an unpacked sdist)")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return [ROOT / p for p in out.split("\0") if p and (ROOT / p).is_file()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def _markdown_of(path: Path) -> str:
    text = _text(path) or ""
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return text


def _escapes(link: str, base: Path) -> bool:
    if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE) or link.startswith("#"):
        return False  # a URL (https:, mailto:, data:) or an anchor on the same page
    target = link.split("#", 1)[0]
    if not target:
        return False
    resolved = (ROOT / target.lstrip("/")) if target.startswith("/") else (base / target)
    return not resolved.resolve().is_relative_to(ROOT)


def test_the_pattern_catches_what_it_should() -> None:
    # The guard must be able to fail.
    for bad in [
        "see `" + ".." + "/sha" + "red/no" + "tes/`",
        "read the two " + "notes in the folder",
        "/" + "work/sha" + "red/DESIGN.md",
    ]:
        assert FORBIDDEN.search(bad), bad
    for fine in ["shared = MLP(...)", "two shared cores", "the note's formula", "../scalargrad"]:
        assert not FORBIDDEN.search(fine), fine
    assert _escapes("../../elsewhere.md", ROOT / "notebooks")
    assert not _escapes("../README.md", ROOT / "notebooks")
    assert not _escapes("https://example.org/x", ROOT)


def test_no_tracked_file_mentions_a_folder_outside_the_repository() -> None:
    hits = []
    for path in _tracked():
        text = _text(path)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


def test_no_markdown_link_leaves_the_repository() -> None:
    bad = []
    for path in _tracked():
        if path.suffix not in {".md", ".ipynb"}:
            continue
        for link in LINK.findall(_markdown_of(path)):
            if _escapes(link, path.parent):
                bad.append(f"{path.relative_to(ROOT)}: ({link})")
    assert not bad, "Markdown links that point outside the repository:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem
)
def test_each_notebook_states_the_formulas_it_checks(path: Path) -> None:
    md = _markdown_of(path)
    assert "## The formulas this lesson checks" in md, path.name
    section = md.split("## The formulas this lesson checks", 1)[1].split("\n## ", 1)[0]
    assert section.count("$") >= 8, f"{path.name}: the formulas section states no formulas"
    assert "nothing outside this repository is needed" in " ".join(section.split())


def test_notebooks_command_adds_allow_root_only_for_root() -> None:
    import os

    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "notebooks.sh"), "--print", "--port", "8899"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[:3] == [".venv/bin/jupyter", "lab", "notebooks/"]
    assert ("--allow-root" in out) == (os.geteuid() == 0)
    assert out[-2:] == ["--port", "8899"]


def test_notebooks_command_as_a_normal_user() -> None:
    import os

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the script as another user")
    out = subprocess.run(
        [
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "bash",
            "-c",
            f"cd / && bash {ROOT / 'scripts' / 'notebooks.sh'} --print",
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 and "Permission denied" in out.stderr:
        pytest.skip("the checkout is not readable by user nobody")
    assert out.returncode == 0, out.stderr
    assert "--allow-root" not in out.stdout.split()


@pytest.mark.needs_dot
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
def test_the_readme_examples_and_the_demo_leave_no_untracked_files(tmp_path: Path) -> None:
    # A repository with this checkout's .gitignore; run there what a newcomer runs at the root.
    if shutil.which("git") is None:
        pytest.skip("needs git")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        line.split("#", 1)[0].strip()
        for line in readme.splitlines()
        if line.startswith(".venv/bin/scalargrad ") and ("--draw" in line or "--html" in line)
    ]
    assert commands, "the README no longer shows a command that writes a drawing"
    import shlex
    import sys

    for command in [*commands, ".venv/bin/scalargrad demo"]:  # `make demo` runs the demo
        argv = [sys.executable, "-m", "scalargrad", *shlex.split(command)[1:]]
        r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (command, r.stderr)
    written = {p.name for p in tmp_path.iterdir()} - {".git", ".gitignore"}
    assert {"g.svg", "steps.html", "chain.svg", "chain_steps.html"} <= written
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert [s for s in status if s and not s.endswith(".gitignore")] == []
