"""OPML import keeps a feed reader's folders (as categories, nested ones "A/B") and each
feed's htmlUrl (as its home); `sources list` shows them and export writes them back, so an
import then an export gives the same file."""

from __future__ import annotations

import json
from pathlib import Path

from newsvault.archive import Archive
from newsvault.loopback import LoopbackServer
from newsvault.models import Source
from newsvault.opml import parse_opml, to_opml

from .conftest import make_archive
from .test_cli import cli

READER = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>From a feed reader</title></head>
  <body>
    <outline text="新闻" title="新闻">
      <outline text="国际" title="国际">
        <outline type="rss" text="美国之音" title="美国之音"
          xmlUrl="https://www.voachinese.com/api/zkq_opiqit" htmlUrl="https://www.voachinese.com/"/>
        <outline type="rss" text="BBC 中文" xmlUrl="https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"/>
      </outline>
      <outline type="rss" text="端传媒" xmlUrl="https://theinitium.com/newsfeed/"
        htmlUrl="https://theinitium.com/"/>
    </outline>
    <outline type="rss" text="Loose" xmlUrl="https://loose.example.org/feed"
      htmlUrl="javascript:alert(1)"/>
    <outline text=" Tech  / Blogs ">
      <outline type="rss" text="A blog" xmlUrl="https://blog.example.net/atom.xml"
        htmlUrl="https://blog.example.net/"/>
    </outline>
  </body>
</opml>
"""


def test_import_keeps_folders_and_sites_and_export_gives_them_back(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    a = ("-a", str(root))
    (tmp_path / "reader.opml").write_text(READER, encoding="utf-8")
    said = cli(*a, "sources", "import", str(tmp_path / "reader.opml")).stdout
    assert said.startswith("Added 5 sources from ")
    kept = [(s.slug, s.category, s.home) for s in Archive(root).sources()]
    assert kept == [
        ("voachinese", "新闻/国际", "https://www.voachinese.com/"),
        ("bbci", "新闻/国际", None),
        ("theinitium", "新闻", "https://theinitium.com/"),
        ("loose", None, None),  # an htmlUrl that is not a web address is dropped
        ("blog", "Tech/Blogs", "https://blog.example.net/"),
    ]
    config = (root / "newsvault.toml").read_text(encoding="utf-8")
    assert 'category = "新闻/国际"\nhome = "https://www.voachinese.com/"' in config

    listed = json.loads(cli(*a, "sources", "list", "--json").stdout)
    assert [(s["category"], s["home"]) for s in listed][:1] == [
        ("新闻/国际", "https://www.voachinese.com/")
    ]
    table = cli(*a, "sources", "list").stdout.splitlines()  # piped: a tab-separated line a row
    assert table[0].split("\t")[-3:] == ["category", "home", "url"]
    assert table[1].split("\t")[-3:] == [
        "新闻/国际", "https://www.voachinese.com/", "https://www.voachinese.com/api/zkq_opiqit",
    ]  # fmt: skip

    exported = cli(*a, "sources", "export").stdout
    assert (
        '    <outline text="新闻" title="新闻">\n'
        '      <outline text="国际" title="国际">\n'
        '        <outline type="rss" text="美国之音" title="美国之音" '
        'xmlUrl="https://www.voachinese.com/api/zkq_opiqit" htmlUrl="https://www.voachinese.com/" '
        'newsvaultSlug="voachinese"/>\n'
    ) in exported
    again = tmp_path / "again"
    make_archive(again, [])
    (tmp_path / "exported.opml").write_text(exported, encoding="utf-8")
    cli("-a", str(again), "sources", "import", str(tmp_path / "exported.opml"))
    assert Archive(again).sources() == Archive(root).sources()
    assert cli("-a", str(again), "sources", "export").stdout == exported


def test_folders_nest_in_the_order_their_sources_come() -> None:
    sources = [
        Source("a", "A", "https://a.example/f", category="World/Asia"),
        Source("b", "B", "https://b.example/f"),
        Source("c", "C & co", "https://c.example/f", category="World", home="https://c.example/"),
        Source("d", "D", "https://d.example/f", category="World/Asia"),
    ]
    outlines = parse_opml(to_opml(sources).encode(), "x")
    assert [(o.slug, o.name, o.category, o.home) for o in outlines] == [
        ("a", "A", "World/Asia", None),
        ("d", "D", "World/Asia", None),
        ("c", "C & co", "World", "https://c.example/"),
        ("b", "B", None, None),
    ]


def test_the_category_attribute_counts_where_there_are_no_folders() -> None:
    data = (
        b'<opml version="2.0"><body>'
        b'<outline text="X" xmlUrl="https://x.example/f" category="/World/Asia,/Tags/x"/>'
        b'<outline text="F"><outline text="Y" xmlUrl="https://y.example/f" category="/Other"/>'
        b"</outline></body></opml>"
    )
    assert [o.category for o in parse_opml(data, "x")] == ["World/Asia", "F"]


def test_import_fetches_nothing_and_names_address_feeds_by_title(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    (tmp_path / "local.opml").write_text(
        '<opml version="2.0"><body>'
        f'<outline text="自由亚洲" xmlUrl="{server.url("/a.xml")}"/>'
        f'<outline text="自由亚洲" xmlUrl="{server.url("/b.xml")}"/>'
        f'<outline text="…" xmlUrl="{server.url("/c.xml")}"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    cli("-a", str(root), "sources", "import", str(tmp_path / "local.opml"))
    assert [s.slug for s in Archive(root).sources()] == ["ziyouyazhou", "ziyouyazhou-2", "feed"]
    assert server.requests == []  # hundreds of feeds may be listed: none is fetched


def test_a_bad_home_in_newsvault_toml_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [("x", "X", "https://x.example/f")])
    with (root / "newsvault.toml").open("a", encoding="utf-8") as config:
        config.write('home = "ftp://x.example/"\ncategory = " A // B "\n')
    refused = cli("-a", str(root), "sources", "list", code=2).stderr
    assert refused.count("\n") == 1 and "source 'x' has home = 'ftp://x.example/'" in refused
    text = (root / "newsvault.toml").read_text(encoding="utf-8").replace("ftp:", "https:")
    (root / "newsvault.toml").write_text(text, encoding="utf-8")
    assert Archive(root).sources()[0].category == "A/B"
