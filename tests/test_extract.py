"""Extraction: site rules, the generic extractor, metadata, hostile markup and bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import lxml.html
import pytest

from newsvault.errors import NoArticle, RuleError
from newsvault.extract import RuleSet, extract, shipped_rules
from newsvault.extract.metadata import author_in_text, origin_in_text, parse_date
from newsvault.extract.rules import PACKAGE_RULES, load_rule
from newsvault.extract.samples import check_rules

SAMPLES = PACKAGE_RULES / "samples"
GOLDEN = Path(__file__).parent / "data" / "golden"
BANNEDBOOK_URL = "https://www.bannedbook.org/bnews/worldnews/20240620/seed-002.html"


def bannedbook_page() -> bytes:
    return gzip.decompress((SAMPLES / "bannedbook-seed-002.html.gz").read_bytes())


def test_bannedbook_rule_yields_the_article_and_nothing_else() -> None:
    article = extract(bannedbook_page(), BANNEDBOOK_URL)
    assert article.rule == "bannedbook.toml"
    assert article.title == "细节曝光！北朝鲜与俄罗斯签全面战略伙伴关系条约！明列“遭侵略”将互相支援"
    assert (article.author, article.origin) == ("張柏源", "新头壳")
    assert "另一方可毫不迟疑地提供军事部队等援助" in article.text  # the last body paragraph
    assert "图：翻摄朝中社" in article.text  # the photo caption
    for boilerplate in (
        "大陆网友注意",
        "备注：翻墙",
        "相关阅读",
        "法国犹太老板",
        "来源：",
        "作者：",
    ):
        assert boilerplate not in article.text, boilerplate
    for markup in ("st_tag", "bnews/tag/", "ADSLOT", "banner-ads", "<ul"):
        assert markup not in article.html, markup


def test_every_shipped_rule_passes_its_samples() -> None:
    results = check_rules(shipped_rules())
    assert results, "no rule samples shipped"
    failing = {f"{r.rule.path.name}:{r.sample.file.name}": r.failures for r in results if not r.ok}
    assert not failing


def test_an_archive_copy_is_extracted_as_the_original() -> None:
    page = bannedbook_page().decode("utf-8")
    toolbar = (
        '<div id="wm-ipp-base"><a href="/web/20240620000000*/x">Wayback Machine</a>'
        "<p>Saved 3 captures 大陆网友注意</p></div>"
    )
    wrapped = page.replace("<body>", "<body>" + toolbar).replace(
        'href="https://www.bannedbook.org/', 'href="/web/20240621000000/https://www.bannedbook.org/'
    )
    url = f"https://web.archive.org/web/20240621000000/{BANNEDBOOK_URL}"
    article = extract(wrapped.encode(), url)
    assert (article.url, article.rule, article.wrapper) == (
        BANNEDBOOK_URL,
        "bannedbook.toml",
        "web.archive.org",
    )
    assert "Wayback" not in article.text and "web.archive.org" not in article.html
    assert "/web/2024" not in article.html


GOLDEN_FIELDS = (
    "title", "author", "editor", "photographer", "published", "origin", "lang", "text", "images",
)  # fmt: skip


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_generic_golden_pages(golden: Path) -> None:
    expected = json.loads(golden.read_text(encoding="utf-8"))
    page = gzip.decompress(golden.with_suffix(".html.gz").read_bytes())
    article = extract(page, expected["url"], use_rules=False).to_json()
    for key in GOLDEN_FIELDS:
        assert article[key] == expected[key], key


def rule_samples() -> dict[str, tuple[str, Path]]:
    return {
        s.file.name.removesuffix(".html.gz"): (s.url, s.file)
        for rule in shipped_rules().rules
        for s in rule.samples
    }


@pytest.mark.parametrize("golden", sorted((GOLDEN / "rules").glob("*.json")), ids=lambda p: p.stem)
def test_rule_golden_pages(golden: Path) -> None:
    expected = json.loads(golden.read_text(encoding="utf-8"))
    url, sample = rule_samples()[golden.stem]
    article = extract(gzip.decompress(sample.read_bytes()), url).to_json()
    for key in (*GOLDEN_FIELDS, "rule"):
        assert article[key] == expected[key], key


def test_every_rule_sample_has_a_golden_file() -> None:
    assert set(rule_samples()) == {p.stem for p in (GOLDEN / "rules").glob("*.json")}


HOSTILE = """<html><head><title>Hostile</title><style>p{background:url(javascript:x)}</style>
<script>alert(1)</script></head><body><article><h1>Hostile article</h1>
<p onclick="alert(2)">First paragraph of a long enough article about the weather in the city,
which was fine all week according to everyone who was asked about it.</p>
<p><a href="javascript:alert(3)">a link</a> and <img src="x.png" onerror="alert(4)" alt="pic">
<iframe src="https://evil.example/"></iframe><form action="/steal"><input name=q></form></p>
<p>Second paragraph <svg><script>alert(5)</script></svg> with more words so that the extractor
keeps it as part of the article body, talking about the rain that did not come.</p>
<p style="position:fixed;top:0">Third paragraph <object data="x.swf"></object> closes the
article with a few last words on the forecast for the next week.</p></article></body></html>"""


def test_hostile_markup_never_survives() -> None:
    for use_rules in (True, False):
        article = extract(HOSTILE.encode(), "https://news.example.com/a", use_rules=use_rules)
        assert "First paragraph" in article.text and "Third paragraph" in article.text
        lowered = article.html.lower()
        for bad in ("<script", "alert(", "onclick", "onerror", "javascript:", "<iframe",
                    "<form", "<input", "<style", "style=", "<svg", "<object"):  # fmt: skip
            assert bad not in lowered, bad


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "text/html", "empty"),
        (b"   \n ", "text/html", "empty"),
        (b"%PDF-1.7 binary", "application/pdf", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", None, "PNG"),
        (b'{"title": "json", "items": []}', "application/json", "json"),
        (b'[{"a": 1}]', None, "JSON"),
        (b"\x00\x01\x02" * 2000, None, "binary"),
        (b"<html><body><p>Too short.</p></body></html>", "text/html", "words of text"),
        (
            b"<html><body><ul>"
            + b"".join(b'<li><a href="/n/%d">Headline %d</a></li>' % (i, i) for i in range(80))
            + b"</ul></body></html>",
            "text/html",
            "list or home page",
        ),
    ],
)
def test_bad_input_is_one_clear_outcome(body: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(NoArticle) as caught:
        extract(body, "https://news.example.com/x", content_type)
    message = str(caught.value)
    assert message.startswith("no article found: ") and "\n" not in message
    assert reason.lower() in message.lower()


ARTICLE_TEXT = "<p>" + "这是一段足够长的新闻正文，用来检验深层嵌套的页面。" * 6 + "</p>"


@pytest.mark.parametrize("depth", [300, 1000, 5000])
def test_deeply_nested_pages_keep_their_text(depth: int) -> None:
    page = f"<html><body><h1>深层</h1>{'<font>' * depth}{ARTICLE_TEXT}</body></html>"
    article = extract(page.encode(), "https://news.example.com/deep")
    assert "深层嵌套的页面" in article.text


def test_broken_markup_and_a_lying_charset() -> None:
    first = "中文新闻正文，第一段落，内容足够长，可以被提取出来作为文章。" * 5
    second = "第二段落的内容也足够长，说明事件的经过。" * 5
    head = "<html><head><meta charset='utf-8'><title>新闻标题</title>"
    body = f"{head}<body><div><p>{first}<p><b>未闭合的标签<i>继续{second}"
    article = extract(body.encode("gb18030"), "https://news.example.com/gbk")
    assert "第一段落" in article.text and "\ufffd" not in article.text


def test_chinese_metadata_patterns() -> None:
    china = dt.timezone(dt.timedelta(hours=8))
    expected = dt.datetime(2024, 6, 20, 10, 30, tzinfo=china).timestamp() * 1000
    assert parse_date("2024年6月20日 10:30") == expected
    assert parse_date("发布时间：2024-06-20 10:30") == expected
    assert parse_date("2024-06-20T02:30:00Z") == expected
    assert author_in_text("2024-06-20 作者：张三 来源：新华社") == "张三"
    assert author_in_text("新华社记者 李四 王五 报道") == "李四 王五"
    assert author_in_text("文/王小明") == "王小明"
    assert origin_in_text("来源：新头壳 编辑：某某") == "新头壳"
    assert origin_in_text("本文來源：中央社") == "中央社"


def test_bad_rule_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('hosts = ["x.com"]\nbody = ["div[["]\n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"bad\.toml: bad CSS selector"):
        load_rule(bad)
    bad.write_text('hosts = ["x.com"]\nbodyy = ["div"]\n', encoding="utf-8")
    with pytest.raises(RuleError, match="unknown key 'bodyy'"):
        load_rule(bad)


def test_an_archive_rule_wins_over_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "Mine"\nslug = "mine"\nhosts = ["www.bannedbook.org"]\nbody = ["div.entry"]\n',
        encoding="utf-8",
    )
    rules = RuleSet.load(tmp_path, PACKAGE_RULES)
    assert rules.match(BANNEDBOOK_URL).slug == "mine"
    assert rules.match("https://bannedbook.org/x").slug == "bannedbook"
    assert rules.match("https://example.com/") is None


def test_an_archive_today_copy_keeps_the_original_url() -> None:
    page = bannedbook_page().decode("utf-8")
    header = '<div id="HEADER"><form><input name="q" value="' + BANNEDBOOK_URL + '"></form>'
    header += "<p>archive.today webpage capture 大陆网友注意</p></div>"
    article = extract(
        page.replace("<body>", "<body>" + header).encode(), "https://archive.ph/Ab12C"
    )
    assert (article.url, article.rule, article.wrapper) == (
        BANNEDBOOK_URL,
        "bannedbook.toml",
        "archive.today",
    )
    assert "webpage capture" not in article.text
    by_path = extract(page.encode(), f"https://archive.ph/20240621000000/{BANNEDBOOK_URL}")
    assert by_path.url == BANNEDBOOK_URL and by_path.rule == "bannedbook.toml"


def test_page_idioms_chinese_outlets_use() -> None:
    lines = "".join(
        f"<p>第{n}段：法国9日再次爆发全国跨行业大罢工，反对政府进行退休制度改革，交通严重受阻。</p>"
        for n in range(2, 7)
    )
    page = f"""<html lang="en"><head><title>大罢工 - 某网</title>
    <script>var ct = "1581517074";</script></head><body><article>
    <h1>法国全国大罢工再次严重影响交通</h1>
    <section><p>新华社巴黎12月9日电（记者唐霁）法国9日再次爆发全国跨行业大罢工。</p></section>
    <p><img src="data:image/gif;base64,R0lGOD" data-src="https://img.example/strike.jpg"></p>
    <p style="text-align: center">巴黎街头的罢工队伍（新华社记者 摄）</p>
    <p><img src="https://img.example/0.jpg" alt="0.jpg"></p>{lines}</article></body></html>"""
    found = extract(page.encode(), "https://news.example/a.html", use_rules=False)
    assert found.author == "唐霁" and found.lang == "zh-Hans"  # the text, not lang="en", decides
    assert found.published == 1581517074000  # "var ct", when nothing else dates the page
    assert found.text.startswith("新华社巴黎12月9日电（记者唐霁）")  # the dateline stays
    assert "巴黎街头的罢工队伍（新华社记者 摄）" in found.text.split("\n")
    assert found.images[0] == {
        "src": "https://img.example/strike.jpg",
        "caption": "巴黎街头的罢工队伍（新华社记者 摄）",
    }
    assert found.images[1]["caption"] is None  # a file name is no caption
    assert "<figure><img" in found.html and "法国全国大罢工再次严重影响交通" not in found.text


def test_authors_that_name_nobody() -> None:
    assert author_in_text("作者：医技药剂党支部") is None  # no name cut at five characters
    assert author_in_text("作者：网络整理") is None
    assert author_in_text("(文/图 刘玺东 易赛楠)") == "刘玺东 易赛楠"
    assert author_in_text("（职工通讯员 李琴雯 刘会）") == "李琴雯 刘会"
    assert origin_in_text("来源于：东区办事处") == "东区办事处"


def test_pages_too_small_to_reach_the_node_cap_are_parsed_uncounted_to_the_same_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from newsvault.extract import document

    unseen = Path(__file__).parents[1] / "benchmarks" / "data" / "unseen"
    for path in sorted(unseen.glob("*/*.html.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        assert len(text) < document._UNCOUNTED_CHARS
        pieces = [text[i : i + 65536] for i in range(0, len(text), 65536)]
        small, _, _ = document._parse_once(pieces)
        with monkeypatch.context() as patched:
            patched.setattr(document, "_UNCOUNTED_CHARS", 0)  # every element counted
            counted, _, read_all = document._parse_once(pieces)
        assert read_all and small is not None and counted is not None
        assert lxml.html.tostring(small) == lxml.html.tostring(counted)


def test_long_pages_parsed_whole_then_counted_give_the_counted_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page longer than _UNCOUNTED_CHARS and up to _COUNTED_AFTER_CHARS is parsed whole and
    counted after: under the cap, the tree counting all along gives; past it, cut at it."""
    from newsvault.extract import document

    paragraph = '<p class="x" id="p{n}">第{n}段，' + "新闻正文。" * 30 + "</p>\n"
    under = "<html><body>" + "".join(paragraph.format(n=n) for n in range(4000))
    past = "<html><body>" + "".join(f"<b a{n} c d e f g h i></b>" for n in range(20_000))
    for page, cut in ((under, False), (past, True)):
        assert document._UNCOUNTED_CHARS < len(page) < document._COUNTED_AFTER_CHARS
        pieces = [page[i : i + 65536] for i in range(0, len(page), 65536)]
        whole, _, read_all = document._parse_once(pieces)
        with monkeypatch.context() as patched:
            patched.setattr(document, "_COUNTED_AFTER_CHARS", 0)  # counted all along
            counted, _, counted_all = document._parse_once(pieces)
        assert whole is not None and counted is not None
        assert read_all == counted_all == (not cut)
        assert lxml.html.tostring(whole) == lxml.html.tostring(counted)


def test_a_page_with_more_text_than_the_peers_bound_is_cut_to_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from newsvault.extract.extractor import PEER_CHARS

    filler = '<p class="filler-paragraph">' + "另一段填充的文字，" * 11 + "</p>"  # 99 of text
    # more text than the bound; a longer page with less text; a page shorter than the bound
    for paragraphs, cut in ((PEER_CHARS // 99 + 100, True), (PEER_CHARS // 99 - 300, False)):
        for markup in (filler, filler.replace(' class="filler-paragraph"', "")):
            caplog.clear()
            page = f"<html><body><h1>标题</h1>{ARTICLE_TEXT}{markup * paragraphs}</body></html>"
            if not cut and markup != filler:
                assert len(page) <= PEER_CHARS
            extract(page.encode(), "https://news.example.com/long")
            assert ("the article is looked for in the first" in caplog.text) == cut, paragraphs


def test_a_page_past_the_node_cap_is_read_to_it(caplog: pytest.LogCaptureFixture) -> None:
    from newsvault.extract.document import MAX_NODES

    tiny = "".join(f"<i>{n}</i>" for n in range(MAX_NODES + 1000))
    page = f"<html><body><h1>标题</h1>{ARTICLE_TEXT}<div>{tiny}</div></body></html>"
    article = extract(page.encode(), "https://news.example.com/many")
    assert "深层嵌套的页面" in article.text
    assert "only the first 150,000 elements and attributes are read" in caplog.text
