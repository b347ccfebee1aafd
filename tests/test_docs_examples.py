"""The complete example in docs/authoring.md builds as documented."""

from __future__ import annotations

import re

from conftest import PROJECT, parse_html, run_cli


def test_authoring_guide_example_builds(tmp_site) -> None:
    guide = (PROJECT / "docs" / "authoring.md").read_text(encoding="utf-8")
    files = dict(re.findall(r"`(content/[^`]+\.md)`:\n\n```markdown\n(.*?)```", guide, flags=re.S))
    assert set(files) == {"content/topics/nato.md", "content/articles/tehran-meeting.md"}
    root = tmp_site(files)
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    article = parse_html(root / "output" / "articles" / "tehran-meeting.html")
    assert article.select_one("#ann-nato").get_text() == "NATO"
    assert "Khamenei called" in article.select_one("#ann-nato").parent.get_text()
    topic = parse_html(root / "output" / "topics" / "nato.html")
    assert topic.select_one('.backlinks a[href="../articles/tehran-meeting.html#ann-nato"]')


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """The README promises one command that passes the tests; CI must run that very line."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- test-command[^>]*-->\s*```sh\n(.+)\n```", readme)
    assert shown, "README.md lost its marked test command"
    ci_lines = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci_lines[-1] == shown.group(1)
    assert "python3 -m pytest" in shown.group(1)
