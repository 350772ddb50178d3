"""The repository stands on its own: no tracked file points at a document outside it.

The project's design document is docs/design.md. An earlier design contract lived outside
the repository; someone who clones the project cannot read it, so no file may cite it (by
its upper-case file name) or the folder it lived in. Runs without the built binary.
"""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Spelled in two pieces so that this file does not match itself.
OUTSIDE_DOC = ("DESIGN" + ".md").encode()
OUTSIDE_FOLDER = ("../" + "shared/").encode()
# The design document may say where it came from.
ALLOWED = {"docs/design.md"}


def tracked_files() -> list[str]:
    """Paths relative to the repository: git's tracked files, else every file outside
    .git and build folders (a source tree without git metadata)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True,
                             check=True, timeout=60).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        files = []
        for p in REPO.rglob("*"):
            rel = p.relative_to(REPO)
            if rel.parts[0] == ".git" or rel.parts[0].startswith("build") or not p.is_file():
                continue
            files.append(rel.as_posix())
        return files


def citations(files: list[str], needle: bytes, root: Path = REPO) -> list[str]:
    """'path:line: text' for every line of `files` (under `root`) that contains `needle`."""
    hits = []
    for rel in files:
        if rel in ALLOWED:
            continue
        path = root / rel
        if not path.is_file():  # deleted in the work tree, not yet in the index
            continue
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            if needle in line:
                hits.append(f"{rel}:{n}: {line.decode(errors='replace').strip()[:160]}")
    return hits


def test_the_file_list_covers_the_repository():
    files = set(tracked_files())
    for expected in ("README.md", "docs/design.md", "harness/cli/main.cpp", "bench/README.md"):
        assert expected in files, f"{expected} missing from the scanned files"


def test_no_file_cites_the_outside_design_document():
    hits = citations(tracked_files(), OUTSIDE_DOC)
    assert not hits, ("these lines cite a design document outside the repository; cite "
                      "docs/design.md (and its section) or say the fact inline:\n" + "\n".join(hits))


def test_no_file_points_into_the_outside_reference_folder():
    hits = citations(tracked_files(), OUTSIDE_FOLDER)
    assert not hits, ("these lines point at files outside the repository:\n" + "\n".join(hits))


def test_cited_design_sections_exist():
    # A citation of docs/design.md followed by a quoted section name must name a heading there.
    headings = {line.lstrip("#").strip() for line in
                (REPO / "docs" / "design.md").read_text().splitlines() if line.startswith("#")}
    cite = re.compile(rb'docs/design\.md,? "([^"]+)"')
    missing = []
    for rel in tracked_files():
        path = REPO / rel
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            for m in cite.finditer(line):
                if m.group(1).decode() not in headings:
                    missing.append(f"{rel}:{n}: no heading '{m.group(1).decode()}' in docs/design.md")
    assert not missing, "\n".join(missing)


def test_readme_links_the_design_document():
    assert "(docs/design.md)" in (REPO / "README.md").read_text()


def test_a_citation_is_found(tmp_path):
    # The scan itself must see a citation wherever it is, so that the tests above can fail.
    (tmp_path / "a.cpp").write_bytes(b"int x;\n// see " + OUTSIDE_DOC + b", Metrics\n")
    (tmp_path / "b.md").write_bytes(b"data in " + OUTSIDE_FOLDER + b"reference/x.csv\n")
    assert citations(["a.cpp", "b.md"], OUTSIDE_DOC, tmp_path) == ["a.cpp:2: // see " + OUTSIDE_DOC.decode() + ", Metrics"]
    assert len(citations(["a.cpp", "b.md"], OUTSIDE_FOLDER, tmp_path)) == 1
