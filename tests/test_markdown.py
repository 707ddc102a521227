"""The markdown archive format: byte-for-byte round trips through the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsvault.errors import ImportFormatError
from newsvault.models import Article
from newsvault.publish.markdown import (
    import_markdown,
    parse_article,
    parse_list,
    publish_markdown,
    render_article,
    render_list,
)
from newsvault.store import Store

SEED = Path(__file__).parent / "data" / "voa-1048574.md"


def seeded_archive(tmp_path: Path) -> Path:
    """An archive in the ancestors' layout holding the seed article and its list page."""
    root = tmp_path / "old"
    (root / "articles" / "voa").mkdir(parents=True)
    (root / "lists").mkdir()
    shutil.copy(SEED, root / "articles" / "voa" / "1048574.md")
    title = parse_article(SEED.read_text(encoding="utf-8"), "seed").title
    (root / "lists" / "voa.md").write_text(
        f"美国之音\n------\n\n6-19 [{title}](/articles/voa/1048574.md)\n\n", encoding="utf-8"
    )
    return root


def test_seed_parses() -> None:
    parsed = parse_article(SEED.read_text(encoding="utf-8"), "seed")
    assert parsed.published == 1718805542000
    assert parsed.title.startswith("普京与金正恩签署全面战略合作条约")
    assert parsed.url.startswith("https://www.voachinese.com/a/putin-signs-partnership-pact")
    assert parsed.content.startswith("<div><i>Wed, 19 Jun 2024 13:39:24 GMT</i></div>")
    assert "\n" not in parsed.content


def test_seed_round_trip_is_byte_identical(tmp_path: Path) -> None:
    old = seeded_archive(tmp_path)
    store = Store.open(tmp_path / "db.sqlite")
    result = import_markdown(store, old, now=0)
    assert (result.imported, result.skipped, result.errors) == (1, 0, [])
    new = tmp_path / "new"
    publish_markdown(store, new)
    for relative in ("articles/voa/1048574.md", "lists/voa.md"):
        assert (new / relative).read_bytes() == (old / relative).read_bytes(), relative
    again = import_markdown(store, old, now=0)
    assert (again.imported, again.skipped) == (0, 1)


def test_import_reports_bad_files_and_keeps_going(tmp_path: Path) -> None:
    old = seeded_archive(tmp_path)
    (old / "articles" / "voa" / "1048573.md").write_text("just some text\n", encoding="utf-8")
    (old / "articles" / "voa" / "1048572.md").write_bytes(b"\xff\xfe\x00garbage")
    (old / "articles" / "voa" / "notes.md").write_text("x", encoding="utf-8")
    store = Store.open(tmp_path / "db.sqlite")
    result = import_markdown(store, old, now=0)
    assert result.imported == 1
    assert len(result.errors or []) == 3
    assert all("voa" in line and "\n" not in line for line in result.errors or [])


def test_import_needs_an_articles_folder(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    with pytest.raises(ImportFormatError, match="no articles/ folder"):
        import_markdown(store, tmp_path, now=0)


def test_render_strips_lines_and_joins_them() -> None:
    article = Article(
        source="s",
        number=1048574,
        url="https://example.com/a",
        title="  A title \n",
        html="<p>one</p>\n   <p>two</p>  \n",
        text="",
        published=1718805542000,
        fetched=0,
    )
    assert render_article(article) == (
        "<!--1718805542000-->\n[A title](https://example.com/a)\n------\n\n<p>one</p><p>two</p>\n"
    )


def test_list_dates_are_taken_in_utc_plus_8() -> None:
    # 2024-06-19 20:00 UTC is already 6-20 in UTC+8.
    article = Article(
        source="s",
        number=7,
        url="u",
        title="t",
        html="",
        text="",
        published=1718827200000,
        fetched=0,
    )
    assert render_list("Name", [article]) == "Name\n------\n\n6-20 [t](/articles/s/7.md)\n\n"
    parsed = parse_list(render_list("Name", [article]), "x")
    assert parsed.name == "Name" and parsed.numbers == [("s", 7)]


def test_titles_with_brackets_survive(tmp_path: Path) -> None:
    text = "<!--5-->\n[a [b] c](https://e.com/x_(y))\n------\n\n<p>x</p>\n"
    parsed = parse_article(text, "x")
    assert (parsed.title, parsed.url) == ("a [b] c", "https://e.com/x_(y)")
