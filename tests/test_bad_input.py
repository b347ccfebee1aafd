"""Bad input (issue 8): every broken site under tests/sites_invalid/ fails with exactly its diagnostics.

Layout, after Zola's `test_sites_invalid/`: `_base/` is a good site; every other folder `<case>/`
holds the files that break it (laid over a fresh copy of `_base/`) and `expected.txt`, the exact
stderr of `site-gen build`. Inputs that cannot live in git (non-UTF-8 bytes, a 50 MB file, a FIFO,
symlink loops, an unreadable file, CRLF line endings) are made at test time by the function named
after the case in `GENERATED`.

For each case the good site is built once, its output/ copied into the case folder, the case's files
laid over it, and `site-gen build` run as a user would. Asserted: exit code 1, stderr equal to
expected.txt (so each `path:line:col: error: message` exactly), a hint under every error (what to do),
no traceback, output/ byte-identical and nothing left beside it. The cases run in parallel threads.

After a deliberate change of wording: `UPDATE_EXPECTED=1 python3 -m pytest tests/test_bad_input.py`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import PROJECT, parse_html, run_cli, snapshot

INVALID = PROJECT / "tests" / "sites_invalid"
BASE = INVALID / "_base"
ARTICLE = Path("content/articles/summit.md")
CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir() and not p.name.startswith("_"))
DROP_READ_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                      "--bounding-set=-dac_override,-dac_read_search"]
"""Root reads any file whatever its mode; without these two capabilities it is refused like anyone."""


# --- inputs made at test time ---------------------------------------------------------------

def non_utf8(root: Path) -> None:
    """A Latin-1 'é' (byte 0xe9) on body line 15, as an editor set to Windows-1252 would save it."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8").replace("deal in Tehran.", "deal in Tehran, café.")
    (root / ARTICLE).write_bytes(text.encode("latin-1"))


def binary_file(root: Path) -> None:
    """A PNG saved with a .md name."""
    (root / "content/articles/photo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" * 8)


def empty_file(root: Path) -> None:
    """A page file with no bytes at all."""
    (root / "content/articles/draft.md").write_bytes(b"")


def huge_file(root: Path) -> None:
    """A 50 MB article: valid front matter, then 50 MB of text."""
    line = b"The leaders discussed the nuclear deal in Tehran, again and again and again.\n"
    with open(root / "content/articles/huge.md", "wb") as out:
        out.write(b"---\ntitle: Huge\ndate: 2022-07-19\n---\n")
        out.write(line * (50 * 1024 * 1024 // len(line) + 1))


def symlink_loop(root: Path) -> None:
    """Two pages that are symlinks to each other, and one that is a symlink to itself."""
    articles = root / "content/articles"
    (articles / "loop-a.md").symlink_to("loop-b.md")
    (articles / "loop-b.md").symlink_to("loop-a.md")
    (articles / "self.md").symlink_to("self.md")


def image_symlink_loop(root: Path) -> None:
    """The image the case's summit.md shows is a symlink to itself."""
    (root / "content/articles/map.png").symlink_to("map.png")


def unreadable_file(root: Path) -> None:
    """A good page with mode 000 (the build runs without root's read override, see DROP_READ_OVERRIDE)."""
    locked = root / "content/articles/locked.md"
    locked.write_text("---\ntitle: Locked\ndate: 2022-07-19\n---\nSecret.\n", encoding="utf-8")
    locked.chmod(0)


def fifo_page(root: Path) -> None:
    """A named pipe called live.md: opening it would block the build forever."""
    os.mkfifo(root / "content/articles/live.md")


def folder_named_md(root: Path) -> None:
    """A folder whose name ends in .md."""
    (root / "content/articles/notes.md").mkdir()
    (root / "content/articles/notes.md/a.txt").write_text("a", encoding="utf-8")


def crlf_line_numbers(root: Path) -> None:
    """The case's summit.md with CRLF line endings: errors must keep their LF line numbers."""
    path = root / ARTICLE
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def yaml_control_character(root: Path) -> None:
    """An escape character (U+001B, as pasted from a terminal) inside the title."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8").replace("Summit in", "Summit\x1b[0m in")
    (root / ARTICLE).write_text(text, encoding="utf-8")


def body_control_character(root: Path) -> None:
    """A bell character (U+0007) in the text: XML forbids it, so the site's feed would be unreadable."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8").replace("deal in Tehran.", "deal in\x07 Tehran.")
    (root / ARTICLE).write_text(text, encoding="utf-8")


def non_utf8_file_name(root: Path) -> None:
    """A page whose file name is Latin-1, not UTF-8 (a name git cannot hold portably)."""
    folder = os.fsencode(root / "content" / "articles")
    os.rename(root / ARTICLE, os.path.join(folder, b"caf\xe9.md"))


def yaml_escaped_control_character(root: Path) -> None:
    """The same character written as a YAML escape in a double-quoted title."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    (root / ARTICLE).write_text(text.replace(title, 'title: "Summit\\x07 in Tehran"'), encoding="utf-8")


def yaml_line_separators(root: Path) -> None:
    """A summary holding NEL and LINE SEPARATOR (YAML counts them as line breaks, the file does not),
    then a wrong value on the next line: the error must point at that line of the file."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8")
    text = text.replace("summary: The leaders met in Tehran.", "summary: \"The leaders\u0085met in\u2028Tehran.\"")
    (root / ARTICLE).write_text(text.replace("tags: [iran, russia]", "tags: 7"), encoding="utf-8")


def unknown_wikilink_in_block_note(root: Path) -> None:
    """A note written as a block (`note: |`) whose third line links to a missing page: the error names
    that line of the file, not the annotation's first."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8")
    note = next(line for line in text.splitlines() if line.strip().startswith("note:"))
    indent = " " * (len(note) - len(note.lstrip()) + 2)
    block = f"{note.split(':')[0]}: |\n{indent}The 2015 agreement.\n{indent}It has a history,\n{indent}see [[embargo]]."
    (root / ARTICLE).write_text(text.replace(note, block, 1), encoding="utf-8")


def unknown_wikilink_in_folded_note(root: Path) -> None:
    """The same note folded (`note: >`): its lines are joined into one, so the third is not the
    file's third; the error is told where the note begins (it was told at a line counted wrong)."""
    text = (BASE / ARTICLE).read_text(encoding="utf-8")
    note = next(line for line in text.splitlines() if line.strip().startswith("note:"))
    indent = " " * (len(note) - len(note.lstrip()) + 2)
    block = f"{note.split(':')[0]}: >\n{indent}The 2015 agreement.\n{indent}It has a history,\n{indent}see [[embargo]]."
    (root / ARTICLE).write_text(text.replace(note, block, 1), encoding="utf-8")


def symlink_out_of_content(root: Path) -> None:
    """A page that is a symlink to a good page outside content/ (it must not be published)."""
    (root / "outside.md").write_text("---\ntitle: Outside\ndate: 2022-07-19\n---\nPrivate.\n", encoding="utf-8")
    (root / "content/articles/leak.md").symlink_to("../../outside.md")


def template_not_utf8(root: Path) -> None:
    """A theme's template saved as Latin-1 ('é', byte 0xe9, on line 3)."""
    folder = root / "themes/mine/templates"
    folder.mkdir(parents=True)
    (folder / "404.html").write_bytes('{% extends "base.html" %}\n{% block main %}\n<p>Page non trouvée.</p>\n{% endblock %}\n'.encode("latin-1"))


GENERATED: dict[str, Callable[[Path], None]] = {
    "non-utf8": non_utf8, "binary-file": binary_file, "empty-file": empty_file, "huge-file": huge_file,
    "symlink-loop": symlink_loop, "image-symlink-loop": image_symlink_loop, "unreadable-file": unreadable_file, "fifo-page": fifo_page,
    "folder-named-md": folder_named_md, "crlf-line-numbers": crlf_line_numbers,
    "symlink-out-of-content": symlink_out_of_content, "yaml-control-character": yaml_control_character,
    "body-control-character": body_control_character, "yaml-line-separators": yaml_line_separators,
    "unknown-wikilink-in-block-note": unknown_wikilink_in_block_note,
    "unknown-wikilink-in-folded-note": unknown_wikilink_in_folded_note, "yaml-escaped-control-character": yaml_escaped_control_character,
    "template-not-utf8": template_not_utf8, "non-utf8-file-name": non_utf8_file_name,
}


# --- running the cases ----------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one broken build did."""

    returncode: int
    stderr: str
    output_unchanged: bool
    new_entries: frozenset[str]


def _needs_capability_drop(case: str) -> bool:
    return case == "unreadable-file" and os.geteuid() == 0


def _build(root: Path, case: str) -> subprocess.CompletedProcess[str]:
    if not _needs_capability_drop(case):
        return run_cli("build", cwd=root, timeout=60)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run([*DROP_READ_OVERRIDE, sys.executable, "-m", "site_gen", "build"], cwd=root,
                          capture_output=True, text=True, timeout=60, env=env)


def _run_case(case: str, good_output: Path, folder: Path) -> Outcome:
    root = folder / "site"
    shutil.copytree(BASE, root)
    shutil.copytree(good_output, root / "output", copy_function=shutil.copy2)
    shutil.copytree(INVALID / case, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expected.txt"))
    if case in GENERATED:
        GENERATED[case](root)
    before = snapshot(root / "output")
    entries = set(os.listdir(root))
    result = _build(root, case)
    return Outcome(result.returncode, result.stderr, snapshot(root / "output") == before,
                   frozenset(set(os.listdir(root)) - entries))


def _selected_cases(request: pytest.FixtureRequest) -> list[str]:
    """The cases pytest will run this session (all, or those picked with -k / a node id)."""
    return [item.callspec.params["case"] for item in request.session.items
            if item.path == Path(__file__) and hasattr(item, "callspec") and "case" in item.callspec.params]


@pytest.fixture(scope="module")
def good_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base site, built once: it must build cleanly, without a single warning."""
    root = tmp_path_factory.mktemp("base") / "site"
    shutil.copytree(BASE, root)
    result = run_cli("build", cwd=root)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return root / "output"


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, good_output: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome | BaseException]:
    """Every selected case, run in parallel threads (each its own subprocess and folder)."""
    cases = _selected_cases(request)
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        futures = {case: pool.submit(_run_case, case, good_output, tmp_path_factory.mktemp(case)) for case in cases}
    return {case: future.exception() or future.result() for case, future in futures.items()}


def _unreadable_is_testable() -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run([*DROP_READ_OVERRIDE, "true"], capture_output=True, timeout=10) \
        if shutil.which("setpriv") else None
    return probe is not None and probe.returncode == 0


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_with_its_exact_diagnostics(case: str, outcomes: dict[str, Outcome | BaseException]) -> None:
    if _needs_capability_drop(case) and not _unreadable_is_testable():
        pytest.skip("running as root without setpriv/CAP_SETPCAP: a chmod 000 file stays readable to root")
    outcome = outcomes[case]
    if isinstance(outcome, BaseException):
        raise outcome
    expected_file = INVALID / case / "expected.txt"
    if os.environ.get("UPDATE_EXPECTED") == "1":
        expected_file.write_text(outcome.stderr, encoding="utf-8")
    assert "Traceback" not in outcome.stderr
    assert outcome.stderr == expected_file.read_text(encoding="utf-8")
    assert outcome.returncode == 1
    errors = re.findall(r"^\S.*: error: .*\n(?! {4}\S)", outcome.stderr, flags=re.MULTILINE)
    assert errors == [], f"errors without a hint saying what to do: {errors}"
    assert outcome.output_unchanged, "output/ of the previous good build changed"
    assert outcome.new_entries == frozenset(), "the failed build left files beside output/"


def test_there_are_at_least_forty_cases_each_with_an_expected_file() -> None:
    assert len(CASES) >= 40
    assert [c for c in CASES if not (INVALID / c / "expected.txt").is_file()] == []
    assert set(GENERATED) <= set(CASES)


# --- inputs that are accepted ---------------------------------------------------------------

def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(BASE, root)
    text = (root / ARTICLE).read_text(encoding="utf-8")
    (root / ARTICLE).write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    topic = root / "content/topics/sanctions.md"
    topic.write_bytes(topic.read_bytes().replace(b"\n", b"\r"))  # classic Mac OS line ends, for good measure
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    page = parse_html(root / "output/articles/summit.html")
    assert page.select_one("h1").get_text(strip=True) == "Summit in Tehran"
    assert page.select_one("mark#ann-deal").get_text() == "nuclear deal"
    assert "\ufeff" not in (root / "output/articles/summit.html").read_text(encoding="utf-8")
    assert "\r" not in page.select_one(".article-body").get_text()
    topic_page = parse_html(root / "output/topics/sanctions.html")
    assert "Sanctions limit trade with Iran." in topic_page.get_text()
