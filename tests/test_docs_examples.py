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
