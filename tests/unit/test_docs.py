"""README.md and docs/ say only what the repository holds: every relative link and anchor
resolves, every `make` target named exists, and every path named exists.

The checks read the Markdown as GitHub renders it: links are `[text](target)`, anchors
are GitHub's heading slugs (lower case, punctuation but `-` and `_` dropped, spaces made
`-`, a repeated heading numbered `-1`, `-2`), and `make` targets and paths are read from
code (spans and fenced blocks), where the pages name them.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 220  # the README is a front door; the rest belongs in docs/

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_MAKE = re.compile(r"(?:^|[\s(`;&|])make\s+((?:[A-Z_]+=\S*\s+)*)([a-z][a-z0-9-]*)")
_MAKEFILE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", re.MULTILINE)
_FILE_SUFFIXES = (".py", ".md", ".json", ".txt", ".yaml", ".yml", ".toml", ".j2", ".cfg", ".ini", ".sh")
_NOT_A_PATH = re.compile(r"[<>*{}$#:=\s\\]|\.\.\.|^/|^~")


@dataclass(frozen=True)
class Page:
    path: Path
    text: str

    def prose_and_code(self) -> tuple[list[str], list[str]]:
        """The lines outside fenced code blocks, and the code: the blocks' lines and the spans."""
        prose: list[str] = []
        code: list[str] = []
        fenced = False
        for line in self.text.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            (code if fenced else prose).append(line)
        code += [span.group(2).strip() for line in prose for span in _CODE_SPAN.finditer(line)]
        return prose, code


def documentation(root: Path) -> list[Page]:
    paths = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [Page(path, path.read_text(encoding="utf-8")) for path in paths if path.is_file()]


def github_slugs(page: Page) -> set[str]:
    prose, _ = page.prose_and_code()
    seen: Counter[str] = Counter()
    slugs = set()
    for line in prose:
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        slugs.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return slugs


def broken_links(root: Path) -> list[str]:
    pages = {page.path: page for page in documentation(root)}
    problems = []
    for page in pages.values():
        prose, _ = page.prose_and_code()
        for target in (match.group(1) for line in prose for match in _LINK.finditer(line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.path.parent / file_part).resolve() if file_part else page.path
            where = f"{page.path.relative_to(root)}: link {target!r}"
            if not linked.exists():
                problems.append(f"{where}: {file_part} does not exist")
            elif anchor:
                if linked.suffix != ".md":
                    problems.append(f"{where}: an anchor into {file_part}, which is not a Markdown page")
                    continue
                target_page = pages.get(linked) or Page(linked, linked.read_text(encoding="utf-8"))
                if anchor not in github_slugs(target_page):
                    problems.append(f"{where}: no heading of {linked.relative_to(root)} has the anchor #{anchor}")
    return problems


def makefile_targets(root: Path) -> set[str]:
    return set(_MAKEFILE_TARGET.findall((root / "Makefile").read_text(encoding="utf-8")))


def missing_make_targets(root: Path) -> list[str]:
    targets = makefile_targets(root)
    problems = []
    for page in documentation(root):
        _, code = page.prose_and_code()
        for line in code:
            for match in _MAKE.finditer(line):
                if match.group(2) not in targets:
                    problems.append(f"{page.path.relative_to(root)}: `make {match.group(2)}` is not a target of the Makefile")
    return problems


@dataclass(frozen=True)
class Ignored:
    """The top-level names .gitignore keeps out of the repository: what a run or an install
    makes (cdk.out/, reports/, .venv-audit/, ...), which a page may name before it exists."""

    patterns: tuple[str, ...]

    @classmethod
    def of(cls, root: Path) -> Ignored:
        gitignore = root / ".gitignore"
        lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.is_file() else []
        return cls((".git", *(line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#"))))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)


def _repository_files(root: Path, ignored: Ignored) -> list[Path]:
    """Every file and folder of the repository, not walking into what .gitignore keeps out."""
    found = []
    for folder, subfolders, files in os.walk(root):
        at_top = Path(folder) == root
        subfolders[:] = [name for name in subfolders if not (at_top and name in ignored) and name != "__pycache__"]
        found += [Path(folder, name) for name in (*subfolders, *files) if not (at_top and name in ignored)]
    return found


def _resolves(root: Path, candidate: str) -> bool:
    if (root / candidate).exists():
        return True
    # A path inside an installed package (moto/cloudformation/parsing.py) is checked there.
    spec = importlib.util.find_spec(candidate.split("/")[0]) if re.fullmatch(r"\w+", candidate.split("/")[0]) else None
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(location).parent / candidate).exists() for location in spec.submodule_search_locations)


def missing_paths(root: Path) -> list[str]:
    ignored = Ignored.of(root)
    top_level = {path.name for path in root.iterdir() if path.name not in ignored}
    files = _repository_files(root, ignored)
    names = {path.name for path in files}
    # A bare name may also be a file the code writes (run.json, checkov's results_cli.txt):
    # then the product's source names it.
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in files if path.suffix == ".py" and path.parts[len(root.parts)] != "tests"
    )
    problems = []
    for page in documentation(root):
        _, code = page.prose_and_code()
        for span in code:
            candidate = span.rstrip("/")
            if not candidate or _NOT_A_PATH.search(candidate) or candidate.split("/")[0] in ignored:
                continue
            if "/" in candidate:
                named_here = candidate.split("/")[0] in top_level or candidate.endswith(_FILE_SUFFIXES)
                if named_here and not _resolves(root, candidate):
                    problems.append(f"{page.path.relative_to(root)}: `{span}` does not exist")
            elif candidate.endswith(_FILE_SUFFIXES) and candidate not in names and candidate not in source:
                problems.append(f"{page.path.relative_to(root)}: `{span}` names no file of the repository, nor one its code writes")
    return problems


def test_every_relative_link_and_anchor_resolves():
    assert broken_links(ROOT) == []


def test_every_make_target_named_is_in_the_makefile():
    assert missing_make_targets(ROOT) == []


def test_every_path_named_exists():
    assert missing_paths(ROOT) == []


def test_the_readme_is_short_and_links_every_page_each_saying_who_needs_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages
    for page in pages:
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"
        first_paragraph = page.read_text(encoding="utf-8").split("\n\n")[1]
        assert first_paragraph.startswith("Read this"), f"docs/{page.name} does not start by saying who needs it"


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A small repository whose pages hold one break of each kind, and one of each that holds."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "naming.py").write_text('RECORD = "run.json"\n')
    (tmp_path / "Makefile").write_text("local: install ## run\n\ttrue\nVAR := x\n")
    (tmp_path / ".gitignore").write_text("reports/\n")
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Set up, then run `make local`\n\n```bash\nmake up\n```\n")
    (tmp_path / "README.md").write_text(
        "# Project\n\n"
        "[fine](docs/guide.md#set-up-then-run-make-local) [gone](docs/missing.md) "
        "[no anchor](docs/guide.md#nowhere) [here](#project) [web](https://example.org/x)\n\n"
        "`make local` `make VAR=1 nosuch` `stacks/naming.py` `stacks/nameing.py` `reports/runs/<id>/` "
        "`reports/new/` `handlerr.py` `naming.py` `run.json`\n"
    )
    return tmp_path


def test_the_checks_name_each_planted_break_and_nothing_else(planted):
    assert broken_links(planted) == [
        "README.md: link 'docs/missing.md': docs/missing.md does not exist",
        "README.md: link 'docs/guide.md#nowhere': no heading of docs/guide.md has the anchor #nowhere",
    ]
    assert missing_make_targets(planted) == [
        "README.md: `make nosuch` is not a target of the Makefile",
        "docs/guide.md: `make up` is not a target of the Makefile",
    ]
    assert missing_paths(planted) == [
        "README.md: `stacks/nameing.py` does not exist",
        "README.md: `handlerr.py` names no file of the repository, nor one its code writes",
    ]


def test_github_slugs_drop_punctuation_and_number_repeats(tmp_path):
    page = Page(tmp_path / "p.md", "# `make local`: what differs, and why\n\n## Runs\n\n## Runs\n\n```\n# not a heading\n```\n")
    assert github_slugs(page) == {"make-local-what-differs-and-why", "runs", "runs-1"}
