"""Every relative link in the README and docs/ leads somewhere: the file exists, and a ``#fragment`` names one of
its headings (as GitHub turns a heading into an anchor), so the README's summaries never point at moved text."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "data/README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def anchors(document: Path) -> set[str]:
    """The anchors of a document's headings, read once however many links point into it."""
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.S)
    return {github_anchor(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def relative_links(document: Path) -> list[str]:
    return [t for t in LINK.findall(document.read_text()) if not re.match(r"[a-z]+:", t)]


def test_anchor_rule_on_known_headings():
    assert github_anchor("The authors' objective") == "the-authors-objective"
    assert github_anchor("Results on Flickr8k") == "results-on-flickr8k"
    assert github_anchor("An 11x11 grid") == "an-11x11-grid"


def test_the_documents_link_to_each_other():
    assert any("docs/ablations.md#" in t for t in relative_links(ROOT / "README.md"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document: Path):
    for target in relative_links(document):
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name}: {target} names no file"
        if fragment and linked.suffix == ".md":
            assert fragment in anchors(linked), f"{document.name}: {target} names no heading of {linked.name}"
