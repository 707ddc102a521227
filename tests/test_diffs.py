"""The diff engine: characters for Chinese, words otherwise, paragraphs aligned first; the HTML,
terminal and JSON renderings."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from itertools import pairwise

import opencc
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from newsvault import diffs
from newsvault.diffs import Change, Diff, Version, compare, to_html, to_json, to_rich

E, INS, D = "equal", "insert", "delete"


def body(old: str, new: str) -> list[list[tuple[str, str]]]:
    diff = compare(Version("", old), Version("", new))
    return [[(c.kind, c.text) for c in p] for p in diff.paragraphs]


def sides(changes: tuple[Change, ...]) -> tuple[str, str]:
    """The old and the new text a run of changes stands for."""
    old = "".join(c.text for c in changes if c.kind != INS)
    new = "".join(c.text for c in changes if c.kind != D)
    return old, new


def groups(changes: tuple[Change, ...]) -> int:
    edits = [c.kind != E for c in changes]
    return sum(1 for before, edit in pairwise([False, *edits]) if edit and not before)


def test_a_changed_chinese_character_is_that_character() -> None:
    assert body("俄罗斯总统普京周三抵达平壤", "俄罗斯总统普京周二抵达平壤") == [
        [(E, "俄罗斯总统普京周"), (D, "三"), (INS, "二"), (E, "抵达平壤")]
    ]


def test_a_changed_english_word_is_the_whole_word() -> None:
    # "arrived" and "arrives" share all but one letter: still the word, not the letter.
    assert body(
        "The president arrived in Pyongyang on Wednesday.",
        "The president arrives in Pyongyang on Tuesday.",
    ) == [
        [
            (E, "The president "),
            (D, "arrived"),
            (INS, "arrives"),
            (E, " in Pyongyang on "),
            (D, "Wednesday"),
            (INS, "Tuesday"),
            (E, "."),
        ]
    ]


def test_mixed_chinese_and_english() -> None:
    assert body(
        "总统Joe Biden周三在White House发表讲话，会见Kim Jong Un。",
        "总统Joe Biden周二在White House发表演讲，会见Kim Jong Il。",
    ) == [
        [
            (E, "总统Joe Biden周"),
            (D, "三"),
            (INS, "二"),
            (E, "在White House发表"),
            (D, "讲话"),  # not <ins>演</ins>讲<del>话</del>: the two words, whole
            (INS, "演讲"),
            (E, "，会见Kim Jong "),
            (D, "Un"),
            (INS, "Il"),
            (E, "。"),
        ]
    ]


def test_a_replaced_name_is_one_change() -> None:
    assert body("中国男篮战胜韩国队", "中国男篮战胜南韩队") == [
        [(E, "中国男篮战胜"), (D, "韩国"), (INS, "南韩"), (E, "队")]
    ]


def test_a_rewritten_sentence_is_one_deletion_and_one_insertion() -> None:
    kept, rest = "据新华社报道，会谈持续了三个小时。", "。会后举行了记者会。"
    gone, came = (
        "双方就地区安全问题交换了意见，并签署了多项合作文件",
        "俄方代表团随后前往机场，结束了访问",
    )
    # the two sentences share characters (了, ，) that a minimal diff would keep equal
    assert body(kept + gone + rest, kept + came + rest) == [
        [(E, kept), (D, gone), (INS, came), (E, rest)]
    ]


def test_a_removed_paragraph() -> None:
    diff = compare(
        Version("标题", "第一段。\n第二段。\n第三段。"), Version("标题", "第一段。\n第三段。")
    )
    assert diff.paragraphs == (
        (Change(E, "第一段。"),),
        (Change(D, "第二段。"),),
        (Change(E, "第三段。"),),
    )
    assert diff.changed and (diff.added, diff.removed) == (0, 4)  # 第, 二, 段 and 。
    assert "<p><del>第二段。</del></p>" in to_html(diff)


def test_an_added_paragraph() -> None:
    diff = compare(
        Version("", "First paragraph.\nLast paragraph."),
        Version("", "First paragraph.\nA new paragraph, added later.\nLast paragraph."),
    )
    assert diff.paragraphs[1] == (Change(INS, "A new paragraph, added later."),)
    assert [p[0].kind for p in diff.paragraphs] == [E, INS, E]
    assert (diff.added, diff.removed) == (7, 0)  # five words, a comma and a full stop


def test_identical_versions() -> None:
    version = Version("普京抵达平壤", "俄罗斯总统普京周三抵达平壤。\nThe visit lasted two days.")
    diff = compare(version, Version(version.title, version.text))
    assert not diff.changed
    assert (diff.added, diff.removed) == (0, 0)
    html = to_html(diff)
    assert "<ins>" not in html and "<del>" not in html
    assert html.split("\n") == [
        "<h1>普京抵达平壤</h1>",
        "<p>俄罗斯总统普京周三抵达平壤。</p>",
        "<p>The visit lasted two days.</p>",
    ]


def test_blank_lines_and_line_endings_are_not_changes() -> None:
    diff = compare(
        Version("t", "第一段。\r\n\r\n  \n第二段。\n"), Version("t", "第一段。\n第二段。")
    )
    assert not diff.changed


def test_the_title_is_diffed_too() -> None:
    diff = compare(Version("普京周三抵达平壤", "正文"), Version("普京周二抵达平壤", "正文"))
    assert diff.title == (
        Change(E, "普京周"),
        Change(D, "三"),
        Change(INS, "二"),
        Change(E, "抵达平壤"),
    )
    assert diff.changed and (diff.added, diff.removed) == (1, 1)
    assert to_html(diff).startswith("<h1>普京周<del>三</del><ins>二</ins>抵达平壤</h1>")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_hostile_text_is_escaped() -> None:
    hostile = "<script>alert(\"x\")</script> & 'quotes' <img src=x onerror=alert(1)> &amp;"
    old = Version(f"{hostile}", f"safe\n{hostile}\n</p><p onclick='x'>")
    new = Version(f"{hostile}!", f"safe\n{hostile} changed <b>\x1b[31mred\x9b\ud800\n")
    html = to_html(compare(old, new))
    parser = Tags()
    parser.feed(html)
    assert set(parser.tags) <= {"h1", "p", "ins", "del"} and not parser.attributes
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "&amp;amp;" in html and "&quot;x&quot;" in html and "&#x27;quotes&#x27;" in html
    assert not any(c in html for c in "\x1b\x9b\ud800")  # controls and surrogates dropped
    html.encode()  # a lone surrogate could not even be written out
    assert hostile in "".join(parser.text)  # and the reader sees the text as it was


def test_rich_colours_changes_and_drops_terminal_controls() -> None:
    diff = compare(
        Version("标题", "周三抵达\n[bold]x[/bold]"),
        Version("标题", "周二抵达\n[bold]x[/bold]\x1b[2J"),
    )
    text = to_rich(diff)
    assert isinstance(text, Text)
    assert text.plain == "标题\n\n周三二抵达\n[bold]x[/bold][2J"  # markup stays literal
    styled = {text.plain[s.start : s.end]: str(s.style) for s in text.spans if s.style}
    assert styled["三"] == "red strike" and styled["二"] == "green"
    assert styled["标题"] == "bold"
    assert "\x1b" not in text.plain


def test_json_shape() -> None:
    diff = compare(Version("Visit", "周三抵达。\n删去的一段。"), Version("Visits", "周二抵达。"))
    data = to_json(diff)
    assert data == {
        "changed": True,
        "added": 2,
        "removed": 8,
        "title": [[D, "Visit"], [INS, "Visits"]],
        "paragraphs": [
            [[E, "周"], [D, "三"], [INS, "二"], [E, "抵达。"]],
            [[D, "删去的一段。"]],
        ],
    }
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    unchanged = to_json(compare(Version("a", "b"), Version("a", "b")))
    assert unchanged == {
        "changed": False,
        "added": 0,
        "removed": 0,
        "title": [[E, "a"]],
        "paragraphs": [[[E, "b"]]],
    }


def long_article(count: int) -> list[str]:
    return [
        f"第{n}段：记者从有关部门获悉，第{n}项工作已于本周按计划完成，共投入资金{n * 7}万元。"
        for n in range(count)
    ]


def test_a_long_article_with_one_changed_paragraph() -> None:
    old = long_article(200)
    new = list(old)
    new[137] = new[137].replace("本周", "上周")
    diff = compare(Version("", "\n".join(old)), Version("", "\n".join(new)))
    assert len(diff.paragraphs) == 200
    changed = [n for n, p in enumerate(diff.paragraphs) if any(c.kind != E for c in p)]
    assert changed == [137]
    assert [c for c in diff.paragraphs[137] if c.kind != E] == [Change(D, "本"), Change(INS, "上")]
    assert (diff.added, diff.removed) == (1, 1)


def test_a_long_article_edited_in_several_places() -> None:
    old = long_article(200)
    new = list(old)
    new[10] = new[10].replace("按计划", "提前")
    del new[50]
    new.insert(120, "新增的一段：本报记者补充报道。")
    new[180] = "这一段整个改写了，与原文没有关系。"
    diff = compare(Version("", "\n".join(old)), Version("", "\n".join(new)))
    kinds = [tuple(c.kind for c in p) for p in diff.paragraphs]
    assert kinds.count((D,)) == 1 and kinds.count((INS,)) == 1  # the removed and the added one
    assert diff.paragraphs[50] == (Change(D, old[50]),)
    edited = [p for p in diff.paragraphs if {c.kind for c in p} > {E}]
    assert [sides(p) for p in edited] == [(old[10], new[10]), (old[180], new[180])]
    assert_sides(diff, Version("", "\n".join(old)), Version("", "\n".join(new)))


def test_traditional_script_pairs_every_paragraph() -> None:
    old = long_article(30)
    new = [opencc.OpenCC("s2t").convert(p) for p in old]
    new.insert(5, "新增一段。")
    diff = compare(Version("", "\n".join(old)), Version("", "\n".join(new)))
    whole = [p for p in diff.paragraphs if len(p) == 1]
    assert whole == [(Change(INS, "新增一段。"),)]  # every other paragraph shown as edited
    assert_sides(diff, Version("", "\n".join(old)), Version("", "\n".join(new)))


def assert_sides(diff: Diff, old: diffs.Versioned, new: diffs.Versioned) -> None:
    """The diff gives back both versions: their titles and their paragraphs."""
    olds = [sides(p)[0] for p in diff.paragraphs]
    news = [sides(p)[1] for p in diff.paragraphs]
    assert [p for p in olds if p] == diffs._lines(old.text)
    assert [p for p in news if p] == diffs._lines(new.text)
    assert sides(diff.title) == (old.title, new.title)
    assert diff.changed == (sides(diff.title)[0] != sides(diff.title)[1] or olds != news)


def test_more_distinct_tokens_than_stand_ins(monkeypatch) -> None:
    monkeypatch.setattr(diffs, "_CODE_RANGES", ((0xE000, 0xE004),))
    old = Version("a b c d e", "one two three four five\n甲乙丙丁戊\nsix")
    new = Version("a b c d f", "one two three four six\n甲乙丙丁己\nseven")
    diff = compare(old, new)
    assert diff.changed
    assert_sides(diff, old, new)


texts = st.lists(
    st.text(
        alphabet=st.sampled_from(list("普京周三二抵达平壤。，的 abcAB.,\n\t<&>\x1b\u0301")),
        max_size=40,
    ),
    max_size=6,
).map("\n".join)


@given(texts, texts, texts, texts)
def test_any_two_versions_are_given_back(
    old_title: str, old_text: str, new_title: str, new_text: str
) -> None:
    old, new = Version(old_title, old_text), Version(new_title, new_text)
    diff = compare(old, new)
    assert_sides(diff, old, new)
    assert diff.changed == (
        old_title != new_title or diffs._lines(old_text) != diffs._lines(new_text)
    )
    assert all(c.text for p in (diff.title, *diff.paragraphs) for c in p)  # no empty changes
    parser = Tags()
    parser.feed(to_html(diff))
    assert set(parser.tags) <= {"h1", "p", "ins", "del"}
