"""docs/reference.md points each measured difference to the test that re-measures it: every test it names
exists, and nothing in the repository points to a file outside it (the former "KNOWLEDGE.md")."""

from __future__ import annotations

import re

from tests.conftest import REPO

REFERENCE = REPO / "docs" / "reference.md"
_CITATION = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def test_every_cited_test_exists() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    last_file = None
    cited = 0
    for match in _CITATION.finditer(text):
        path, name = match.groups()
        if path is None and name is None:
            continue
        last_file = path or last_file
        assert last_file is not None, match.group(0)
        source = (REPO / last_file).read_text(encoding="utf-8")
        if name is not None:
            assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{last_file}::{name}"
            cited += 1
    assert cited >= 15


def test_nothing_points_to_a_file_outside_the_repository() -> None:
    places = [REPO / "README.md", REPO / "CHANGELOG.md"]
    places += [*REPO.glob("bn_migrate/**/*.py"), *REPO.glob("docs/*.md")]
    assert not [str(p) for p in places if "KNOWLEDGE" in p.read_text(encoding="utf-8")]
