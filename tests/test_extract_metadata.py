"""Metadata where pages print it: bylines, editors, photographers, sources and dates above the
body, below it, in a dateline and in markup, each in its own field and none left in the text;
captions attached to their images. Small pages in the shapes real sites use (today's templates,
old portals of 2003-2006, blogs, forums), and the real gne pages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import lxml.html
import pytest

from newsvault.extract import Extraction, extract
from newsvault.extract.metadata import (
    byline_line,
    editor_in_text,
    inline_author,
    is_credit_line,
    photographers_in_text,
    script_time,
)
from newsvault.extract.rules import RuleSet
from newsvault.models import CHINA_TIME, to_ms

PROSE = [
    "市气象台昨日发布消息，受冷空气影响，本周后期全市将迎来一次明显的降温过程，最低气温将降至零度以下。",
    "气象专家提醒，市民出行应注意防寒保暖，驾车出行的司机朋友要注意路面结冰，减速慢行，确保安全。",
    "据了解，今年入冬以来，我市平均气温较常年同期偏高一点五度，降水偏少三成，这次降温将有所缓解旱情。",
    "市农业部门表示，已组织技术人员深入田间地头，指导农户做好大棚蔬菜和越冬作物的防冻工作。",
]


def paragraphs(count: int = 4) -> str:
    return "".join(f"<p>{PROSE[n % len(PROSE)]}</p>" for n in range(count))


def page(body: str, title: str = "本周后期全市将迎来明显降温", head: str = "") -> bytes:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}_晨报网</title>{head}</head>"
        f"<body><div class='nav'><a href='/'>首页</a> <a href='/news'>新闻</a></div>{body}"
        "<div class='links'><a href='/a'>关于我们</a> <a href='/b'>联系我们</a></div></body></html>"
    ).encode()


def china(*parts: int) -> int:
    return to_ms(dt.datetime(*parts, tzinfo=CHINA_TIME))  # type: ignore[misc]


URL = "https://news.example.cn/a/1.html"


def generic(body: str, url: str = URL, **page_args: str) -> Extraction:
    return extract(page(body, **page_args), url, use_rules=False)


def test_a_plain_page_s_meta_line_is_not_its_first_line() -> None:
    found = generic(
        "<article><h1>本周后期全市将迎来明显降温</h1>"
        "<div class='meta'>2024年6月18日 09:30 来源：晨报</div>"
        f"{paragraphs()}</article>"
    )
    assert found.text.startswith(PROSE[0])
    assert found.origin == "晨报" and found.published == china(2024, 6, 18, 9, 30)


def test_a_byline_under_the_body_then_share_and_print_links() -> None:
    found = generic(
        "<div class='article'><h1>本周后期全市将迎来明显降温</h1>"
        "<p class='info'>2024-06-18 09:30</p>"
        f"<div class='content'>{paragraphs()}<p>作者：王建国 李晓明</p></div>"
        "<div class='tools'><a href='#'>分享到微博</a> <a href='#'>打印本页</a> "
        "<a href='#'>关闭窗口</a></div></div>"
    )
    assert found.author == "王建国 李晓明"
    assert "作者" not in found.text and found.text.endswith(PROSE[3])


def test_editor_proof_reader_and_photographer_are_not_authors() -> None:
    found = generic(
        "<div class='article'><h1>本周后期全市将迎来明显降温</h1>"
        "<div class='info'>2024-06-18 09:30 来源：晨报 记者 孙立平</div>"
        f"<div class='content'>{paragraphs()}"
        "<p>摄影：周斌</p><p>责任编辑：赵敏</p><p>校对：钱进</p></div></div>"
    )
    assert (found.author, found.editor, found.photographer) == ("孙立平", "赵敏", "周斌")
    credits = generic(
        f"<h1>本周后期全市将迎来明显降温</h1><div id='text'>{paragraphs()}"
        "<p>医技药剂党支部、药剂科供稿 摄影/张艳 编辑/苏芳</p></div>"
    )
    assert (credits.editor, credits.photographer) == ("苏芳", "张艳")
    assert credits.text.endswith(PROSE[3])
    for line in ("责任编辑", "校对", "孙立平", "摄影"):
        assert line not in found.text


def test_an_author_tag_holding_the_editor_s_name_names_no_author() -> None:
    found = generic(
        f"<h1>本周后期全市将迎来明显降温</h1><div id='text'>{paragraphs()}</div>"
        "<div class='bottom'>责任编辑：赵敏</div>",
        head="<meta name='author' content='赵敏'>",
    )
    assert (found.author, found.editor) == (None, "赵敏")


def test_an_editor_line_after_the_body_outside_it() -> None:
    found = generic(
        f"<h1>本周后期全市将迎来明显降温</h1><div id='text'>{paragraphs()}</div>"
        "<div class='editor'>[责任编辑：韩保林 PK155]</div>"
    )
    assert found.editor == "韩保林" and found.author is None


def test_a_dateline_and_a_name_in_brackets_ending_the_text() -> None:
    dateline = "本报北京6月18日讯（记者 王建国）" + PROSE[0]
    found = generic(
        f"<h1>本周后期全市将迎来明显降温</h1><div id='text'><p>{dateline}</p>{paragraphs(3)}</div>"
    )
    assert found.author == "王建国" and found.text.startswith(dateline)  # the dateline stays
    closing = PROSE[3].removesuffix("。") + "。（张巨峰）"
    found = generic(
        f"<h1>本周后期全市将迎来明显降温</h1><div id='text'>{paragraphs(3)}<p>{closing}</p></div>"
    )
    assert found.author == "张巨峰" and found.text.endswith("（张巨峰）")


def test_markup_names_the_author() -> None:
    ld = json.dumps(
        {"@type": "NewsArticle", "headline": "降温", "author": {"name": "李晓明"}},
        ensure_ascii=False,
    )
    found = generic(
        f"<h1>本周后期全市将迎来明显降温</h1>{paragraphs()}",
        head=f'<script type="application/ld+json">{ld}</script>',
    )
    assert found.author == "李晓明"
    found = generic(
        "<h1>本周后期全市将迎来明显降温</h1>"
        "<p>By <span itemprop='author'><span itemprop='name'>Jane Doe</span></span></p>"
        f"{paragraphs()}"
    )
    assert found.author == "Jane Doe"


OLD_LINES = "<br><br>".join("　　" + p for p in PROSE)
OLD_PORTALS = {
    # 2004 sina: tables, <font> lines, time and source in a cell under the headline, the
    # reporter in brackets ending the text, the editor in a cell under it
    "sina": (
        "http://news.sina.com.cn/c/2004-03-15/10212051234s.shtml",
        "<table width=750><tr><th class=f24><font id='title'>本周后期全市将迎来明显降温</font>"
        "</th></tr><tr><td class=f12 align=center>http://www.sina.com.cn 2004年03月15日10:21 "
        "<a href='http://www.bjnews.com.cn'>新京报</a></td></tr>"
        f"<tr><td class=l17><font id='zoom' class=f14>{OLD_LINES}（记者 刘伟）<br><br>"
        "</font></td></tr><tr><td align=right>责任编辑：卢小宝</td></tr></table>",
        {"author": "刘伟", "editor": "卢小宝", "published": china(2004, 3, 15, 10, 21)},
    ),
    # 2006 163: source and writer in a line closing the text, the editor in a box under it
    "163": (
        "http://news.163.com/06/0512/08/2GJ4KQ6J0001124J.html",
        "<div class='endContent'><h1 id='h1title'>本周后期全市将迎来明显降温</h1>"
        "<div class='text'>2006-05-12 08:41:00 来源: 新京报 网易</div>"
        f"<div id='endText'>{paragraphs()}<p>（本文来源：新京报 作者：陈晨）</p></div>"
        "<div class='editor'>(责任编辑：王晓峰)</div></div>",
        {"author": "陈晨", "editor": "王晓峰", "origin": "新京报",
         "published": china(2006, 5, 12, 8, 41)},
    ),
    # 2005 xinhuanet: the date, source and editor in a row under the text
    "xinhuanet": (
        "http://news.xinhuanet.com/newscenter/2005-10/12/content_3607245.htm",
        "<table><tr><td><font class=title>本周后期全市将迎来明显降温</font></td></tr>"
        "<tr><td>【字号 大 中 小】 【我要打印】</td></tr>"
        f"<tr><td><div id='Content'>{paragraphs()}</div></td></tr>"
        "<tr><td>发布时间：2005年10月12日 09:32:51　来源：新华网　编辑：张薇</td></tr></table>",
        {"editor": "张薇", "origin": "新华网", "published": china(2005, 10, 12, 9, 32, 51)},
    ),
    # 2005 sohu: date and source in spans under the headline, "作者：" above the text
    "sohu": (
        "http://news.sohu.com/20050812/n226627164.shtml",
        "<div class='news'><h1>本周后期全市将迎来明显降温</h1><div class='sourceTime'>"
        "<span>2005年08月12日10:25</span> <span>来源：<a href='#'>北京晨报</a></span></div>"
        f"<div id='sohu_content'><p>作者：周明</p>{paragraphs()}</div>"
        "<div class='editShare'>(责任编辑：刘洋)</div></div>",
        {"author": "周明", "editor": "刘洋", "origin": "北京晨报",
         "published": china(2005, 8, 12, 10, 25)},
    ),
    # 2006 yahoo.cn: the byline under the headline with the source, "(编辑：…)" closing it
    "yahoo.cn": (
        "http://news.cn.yahoo.com/060612/346/2hqkx.html",
        "<div id='title'><h1>本周后期全市将迎来明显降温</h1></div>"
        "<div id='info'>新京报 记者 吴敏 2006年6月12日 08:12</div>"
        f"<div id='text'>{paragraphs()}<p>(编辑：黄佳)</p></div>",
        {"author": "吴敏", "editor": "黄佳", "published": china(2006, 6, 12, 8, 12)},
    ),
    # 2005 qianlong: "千龙网 2005-06-12 08:41:00" over the text, "编辑 / 作者" under it
    "qianlong": (
        "http://beijing.qianlong.com/3825/2005/06/12/1140@2672310.htm",
        "<table><tr><td class='title'>本周后期全市将迎来明显降温</td></tr>"
        "<tr><td class='info'>千龙网 2005-06-12 08:41:00</td></tr>"
        f"<tr><td class='content'>{paragraphs()}</td></tr>"
        "<tr><td>作者：郑新 编辑：冯琳</td></tr></table>",
        {"author": "郑新", "editor": "冯琳", "published": china(2005, 6, 12, 8, 41)},
    ),
}  # fmt: skip


@pytest.mark.parametrize("portal", sorted(OLD_PORTALS))
def test_old_portal_pages(portal: str) -> None:
    url, body, expected = OLD_PORTALS[portal]
    found = generic(body, url=url)
    assert {key: getattr(found, key) for key in expected} == expected
    for printed in (
        "责任编辑",
        "编辑：",
        "来源",
        "作者",
        "http://",
    ):  # a reporter in brackets stays
        assert printed not in found.text
    assert found.text.startswith(PROSE[0])


def test_a_portal_byline_with_the_paper_after_the_writer() -> None:
    found = generic(
        "<h1 class='news_title'>本周后期全市将迎来明显降温</h1>"
        "<div class='news_about'><p>石佳/中国青年报</p><p>2019-09-24 09:10</p></div>"
        f"<div class='news_txt'>{paragraphs()}</div>"
    )
    assert found.author == "石佳" and found.published == china(2019, 9, 24, 9, 10)


def test_a_blog_post_dated_in_brackets_and_a_forum_post() -> None:
    found = generic(
        "<div class='articalTitle'><h2 class='titName'>本周后期全市将迎来明显降温</h2>"
        "<span class='time'>(2006-05-12 10:30:15)</span></div>"
        f"<div class='articalContent'>{paragraphs()}</div>"
        "<div class='articalTag'>标签：天气 降温</div>",
        url="http://blog.sina.com.cn/s/blog_4701280b010003ab.html",
    )
    assert found.published == china(2006, 5, 12, 10, 30, 15)
    found = generic(
        "<h1>本周后期全市将迎来明显降温</h1><table><tr><td class='postauthor'>"
        "<a href='space.php?uid=1'>老王</a></td><td class='postcontent'>"
        "<div class='postinfo'>发表于 2006-5-12 10:30</div>"
        f"<div class='t_msgfont'>{paragraphs()}</div></td></tr></table>",
        url="http://bbs.example.cn/viewthread.php?tid=12345",
    )
    assert found.published == china(2006, 5, 12, 10, 30)
    assert not found.text.startswith("发表于")


def test_the_words_of_credit_lines() -> None:
    assert editor_in_text("责任编辑：赵某某") == "赵某某"
    assert editor_in_text("责任编辑：\n香港警方：8.31示威行动未发生致命事件") is None
    assert editor_in_text("（责任编辑： HN666）") is None
    assert photographers_in_text("雨游黄鹤楼照样开心。城市摄影队 周斌 摄") == "周斌"
    assert photographers_in_text("10月4日，旅游专列开往襄阳。 通讯员刘娟 摄") == "刘娟"
    assert photographers_in_text("资料图：市民出行。中新社记者 贾天勇 摄") == "贾天勇"
    assert photographers_in_text("医技药剂党支部、药剂科供稿 摄影/张艳 编辑/苏芳") == "张艳"
    assert photographers_in_text("巴黎街头的罢工队伍（新华社记者 摄）") is None
    assert photographers_in_text("图：市民在寒冷天气中出行") is None  # a caption's words
    assert photographers_in_text("图/张三") == "张三"
    assert is_credit_line("医技药剂党支部、药剂科供稿 摄影/张艳 编辑/苏芳")
    assert not is_credit_line("编辑：苏芳说，今年的比赛成绩有了显著的提升")
    assert byline_line("扬子晚报记者 张楠") == "张楠"
    assert byline_line("据扬子晚报报道，记者张楠了解到，全市气温将大幅下降") is None
    assert inline_author("", ["……举行。（完）"]) is None
    assert inline_author("", ["……举行。（视觉中国）"]) is None
    assert inline_author("", ["采写：南都记者 余毅菁 向雪妮", "返回首页，查看更多"]) == (
        "余毅菁 向雪妮"
    )


def test_captions_that_follow_or_wrap_their_images() -> None:
    src = "https://img.example.cn/{}.jpg"
    found = generic(
        "<h1>本周后期全市将迎来明显降温</h1><div class='TRS_Editor'>"
        f"<p>{PROSE[0]}</p>"
        f"<center><img src='{src.format(1)}' alt='点击查看高清原图'></center>"
        "<p>　<font style='font-size: 9pt'>雨游黄鹤楼照样开心。城市摄影队 周斌 摄</font></p>"
        f"<p>{PROSE[1]}</p>"
        f"<table><tr><td><img src='{src.format(2)}'></td></tr>"
        "<tr><td>市民在寒冷天气中出行。</td></tr></table>"
        f"<p>{PROSE[2]}</p>"
        f"<div class='pic'><img src='{src.format(3)}'>"
        "<span class='pic_txt'>大棚蔬菜</span></div>"
        f"<figure><img src='{src.format(4)}'>"
        "<figcaption>越冬作物（李明/摄）</figcaption></figure>"
        f"<p><img src='{src.format(5)}'></p><p>{PROSE[3]}</p></div>"
    )
    captions = [(i["caption"], i.get("credit")) for i in found.images]
    assert captions == [
        ("雨游黄鹤楼照样开心。城市摄影队 周斌 摄", "周斌"),
        ("市民在寒冷天气中出行。", None),
        ("大棚蔬菜", None),
        ("越冬作物（李明/摄）", "李明"),
        (None, None),  # the paragraph after it is the text's, not a caption
    ]
    assert found.photographer == "周斌 李明"
    lines = found.text.split("\n")
    for caption, _credit in captions[:4]:
        assert lines.count(caption) == 1  # once, under its image
    assert lines[-1] == PROSE[3] and found.html.count("<figure>") == 4


def test_a_rule_names_its_captions(tmp_path: Path) -> None:
    (tmp_path / "example.toml").write_text(
        'hosts = ["news.example.cn"]\nbody = ["div.story"]\ncaption = ["div.story > p.pic + p"]\n',
        encoding="utf-8",
    )
    html = page(
        f"<h1>本周后期全市将迎来明显降温</h1><div class='story'>{paragraphs(2)}"
        "<p class='pic'><img src='https://img.example.cn/1.jpg'></p><p>全市迎来降温</p>"
        f"{paragraphs(2)}</div>"
    )
    ruled = extract(html, URL, rules=RuleSet.load(tmp_path))
    assert ruled.images[0]["caption"] == "全市迎来降温"
    assert extract(html, URL, use_rules=False).images[0]["caption"] is None  # reads as text


GNE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "gne-pages"
LABELS = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "gne-labels.json"


@pytest.mark.skipif(not GNE.is_dir(), reason="the gne pages are not beside the checkout")
@pytest.mark.parametrize(
    ("name", "author", "published"),
    [
        ("njxfhn/1.html", "余毅菁 向雪妮", None),  # a byline under the text, above a box
        ("toutiao/3.html", "林子沛", None),  # "采写：南都见习记者 林子沛" closes the text
        ("qq/qq.html", "张楠", china(2019, 9, 7, 19, 2)),  # "扬子晚报记者 张楠"; "2019 09/07"
        ("guancha/guancha.html", "王文", None),  # "【文/观察者网专栏作者 王文】"
        ("cjddsb/1.html", "刘玺东 易赛楠", china(2019, 9, 23, 14, 34, 5)),  # date in a <footer>
        ("zsnews/1.html", None, china(2019, 3, 6)),  # "发布日期：" under the text
        ("gamersky/gamersky.html", None, china(2019, 9, 5, 11, 10)),  # header in an <aside>
        ("stcn/1.html", "李在山", None),
    ],
)
def test_real_pages_without_their_rules(name: str, author: str | None, published: int) -> None:
    label = json.loads(LABELS.read_text(encoding="utf-8"))[name]
    found = extract((GNE / name).read_bytes(), label["url"] or URL, use_rules=False)
    assert found.author == author
    if published is not None:
        assert found.published == published
    first, last = label["body"].split("\n")[0], label["body"].split("\n")[-1]
    assert first in found.text.split("\n")[:3] and last in found.text


@pytest.mark.parametrize(
    ("scripts", "expected"),
    [
        (["var a = 1;", 'var ct = "1581517074";'], 1581517074000),
        (["x=1;var publish_time='1718775564'"], 1718775564000),
        (['myvar ct = "1581517074"; _var pubtime = 1718775564'], None),
        (['myvar ct = "1581517074"; var pubtime = 1718775564'], 1718775564000),
        (["var ct = 158151707"], None),
    ],
)
def test_a_time_kept_only_in_a_script_is_read(scripts: list[str], expected: int | None) -> None:
    html = "<html><body>" + "".join(f"<script>{s}</script>" for s in scripts) + "</body></html>"
    assert script_time(lxml.html.fromstring(html)) == expected


def test_the_page_text_read_for_metadata_keeps_a_line_per_text_node_and_line_break() -> None:
    from newsvault.extract.extractor import LINES_CHARS, _lines_of

    tree = lxml.html.fromstring(
        "<html><body><p>编辑：张某<a>中美关系</a></p><div>\n 作者：王某 \r\n\n  来源： 晨报 </div>"
        "<p>  \t </p><p>a\u3000 b</p></body></html>"
    )
    assert _lines_of(tree).split("\n") == [
        "编辑：张某",
        "中美关系",
        "作者：王某",
        "来源： 晨报",
        "a b",
    ]
    huge = lxml.html.fromstring(
        f"<html><body><p>{'新闻 ' * LINES_CHARS}</p><p>end</p></body></html>"
    )
    assert len(_lines_of(huge)) <= LINES_CHARS and "end" not in _lines_of(huge)
