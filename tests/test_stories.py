"""Stories and search: folding, Chinese-aware search, near-duplicates, story clusters, and
the two seed documents (one event, two outlets) ending up in one story."""

from __future__ import annotations

import ast
import gzip
import json
import shutil
from pathlib import Path

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsvault.errors import NewsvaultError
from newsvault.extract.rules import PACKAGE_RULES
from newsvault.models import Article
from newsvault.store import Store
from newsvault.stories.clusters import _FUNCTION_CHARS, content_terms
from newsvault.stories.fold import fold, tokens
from newsvault.stories.process import process_pending
from newsvault.stories.search import list_stories, query_parts, search

from .conftest import make_archive
from .test_cli import cli

DAY = 24 * 3600 * 1000
T0 = 1718800000000  # 2024-06-19
SEED = Path(__file__).parent / "data" / "voa-1048574.md"
BANNEDBOOK = PACKAGE_RULES / "samples" / "bannedbook-seed-002.html.gz"
TREATY = (
    "俄罗斯总统普京与朝鲜领导人金正恩在平壤签署全面战略伙伴关系条约，双方承诺在遭受侵略时互相提供军事援助。"
    "分析人士认为，这项条约标志着两国关系进入新的阶段，也引起韩国和日本的担忧。"
    "美国国务院表示将密切关注条约的执行情况，并与盟友协调立场。"
)
FLOOD = (
    "南方多地遭遇强降雨，江西和湖南的河流水位持续上涨，当地政府紧急转移受灾群众。"
    "气象部门预计未来三天降雨仍将持续，提醒居民注意防范山洪和地质灾害。"
    "救援队伍已经进入灾区，运送食品和饮用水。"
)
ECONOMY = (
    "国家统计局公布的数据显示，五月份工业增加值同比增长百分之五，消费品零售总额增速有所放缓。"
    "经济学家表示，房地产投资下滑仍是拖累经济的主要因素，预计央行将继续实施宽松的货币政策。"
)


def add(store: Store, slug: str, title: str, text: str, published: int, key: str) -> int:
    source = store.ensure_source(slug, slug)
    item = Article(
        source=slug, key=key, url=f"https://{slug}.example/{key}", title=title,
        html=f"<p>{text}</p>", text=text, published=published, fetched=published,
    )  # fmt: skip
    (added,) = store.add_articles(source, [item], None).new
    return added.id or 0


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "db")
    yield opened
    opened.close()


def test_folding_joins_scripts_widths_and_name_variants() -> None:
    assert fold("普丁與北韓簽署條約") == "普京与朝鲜签署条约"
    assert fold("川普") == fold("特朗普") and fold("蒲亭") == "普京"
    assert fold("ＡＢＣ Ｔｒｕｍｐ") == "abc trump"
    assert tokens("全面战略 nato") == ["全面", "面战", "战略", "nato"]


@given(st.text(alphabet="的了是在和一不中条约经济朝鲜aZ09 ，。_①" + "".join(_FUNCTION_CHARS)))
def test_salient_terms_are_the_tokens_without_function_characters(text: str) -> None:
    """content_terms cuts runs at function characters instead of testing each pair: the
    same terms, in the same order, as the tokens filtered one by one."""
    folded = fold(text)
    expected = [
        t for t in tokens(folded) if len(t) > 1 and not set(t) & _FUNCTION_CHARS and not t.isdigit()
    ]
    assert content_terms(folded) == expected


def test_chinese_search_two_characters_scripts_and_variants(store: Store) -> None:
    treaty = add(store, "voa", "普京与金正恩签署条约", TREATY, T0, "a")
    taiwan = add(store, "cna", "普丁與北韓簽署條約", opencc.OpenCC("s2t").convert(TREATY), T0, "b")
    add(store, "xinhua", "南方暴雨", FLOOD, T0, "c")
    add(store, "voa", "Trump and Kim in Singapore", "Trump met Kim Jong Un in Singapore " * 5,
        T0 - 300 * DAY, "d")  # fmt: skip
    process_pending(store)

    def found(query: str, **options) -> set[int]:
        return {hit.article.id for hit in search(store, query, **options)}

    for query in ("条约", "條約", "普京", "普丁", "蒲亭", "朝鲜", "北韩", "北朝鲜", "全面战略"):
        assert found(query) == {treaty, taiwan}, query
    assert found("暴雨") != set() and found("条约 暴雨") == set()
    assert len(found("trump")) == 1 and found("川普") == set()  # latin names are not folded
    assert found("条约", source="cna") == {taiwan}
    hit = search(store, "普丁")[0]
    assert "<mark>" in hit.snippet


@pytest.mark.parametrize("query", ['"', "NEAR(", "* - ^", "条约 OR", "a" * 5000, "条约" * 400])
def test_hostile_queries_never_reach_sql(store: Store, query: str) -> None:
    add(store, "voa", "条约", TREATY, T0, "a")
    process_pending(store)
    try:
        search(store, query)  # a result or none, never an SQL error
    except NewsvaultError as exc:
        assert "no words to search for" in str(exc)


@pytest.mark.parametrize("query", ["", "   ", "，。！？", "!!!"])
def test_empty_queries_are_one_clear_line(store: Store, query: str) -> None:
    with pytest.raises(NewsvaultError, match="no words to search for"):
        query_parts(query)


def test_reprints_are_marked_as_copies_and_related_stories_are_not(store: Store) -> None:
    first = add(store, "voa", "普京与金正恩签署条约", TREATY, T0, "a")
    wrapped = "大陆网友注意：本文中的链接请翻墙后打开。" + TREATY + "来源：美国之音"
    reprint = add(store, "bannedbook", "普京与金正恩签署条约", wrapped, T0 + 3600_000, "b")
    traditional = opencc.OpenCC("s2t").convert(TREATY)
    in_script = add(store, "cna", "普丁與金正恩簽署條約", traditional, T0 + 7200_000, "c")
    edited = TREATY.replace("也引起韩国和日本的担忧", "也引起周边国家的强烈担忧和不满")
    small_edit = add(store, "rfa", "朝俄签约", edited, T0 + 9000_000, "d")
    flood = add(store, "xinhua", "南方暴雨", FLOOD, T0, "e")
    economy = add(store, "xinhua", "五月经济数据", ECONOMY, T0, "f")
    report = process_pending(store)
    assert (report.articles, report.copies) == (6, 3)
    copies = {a.id: a.copy_of for a in store.articles()}
    assert copies[reprint] == copies[in_script] == copies[small_edit] == first
    assert copies[first] is copies[flood] is copies[economy] is None
    assert process_pending(store).articles == 0  # incremental: nothing is done twice


def test_stories_group_outlets_and_keep_who_was_first(store: Store) -> None:
    add(store, "bannedbook", "细节曝光！北朝鲜与俄罗斯签全面战略伙伴关系条约", TREATY[:80] +
        "韩联社报导指出，条约内容写道，如果两国其中一方因武装侵略而处于战争局势，另一方应提供军事援助。",
        T0 + 5 * 3600_000, "b")  # fmt: skip
    add(store, "voa", "普京与金正恩签署全面战略合作条约，俄朝关系大幅提升", TREATY, T0, "a")
    add(store, "xinhua", "南方暴雨", FLOOD, T0 + 3600_000, "c")
    later = FLOOD[:60] + "当地政府组织人员转移，救援仍在进行。"
    add(store, "xinhua", "南方暴雨 多地转移群众", later, T0 + 7200_000, "e")
    anniversary = "一年前，俄罗斯总统普京与朝鲜领导人金正恩签署全面战略伙伴关系条约。" + ECONOMY
    add(store, "voa", "俄朝签署条约一周年", anniversary, T0 + 400 * DAY, "d")  # outside the window
    process_pending(store)
    stories = {s.title: s for s in list_stories(store)}
    treaty = next(s for s in stories.values() if len(s.articles) == 2 and "条约" in s.title)
    assert {a.source for a in treaty.articles} == {"voa", "bannedbook"}
    assert treaty.to_json()["first_reported_by"] == "voa"
    assert treaty.title.startswith("普京与金正恩")
    assert len(stories) == 3


def test_the_two_seeds_are_one_story_and_search_finds_both(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    imported = tmp_path / "old"
    (imported / "articles" / "voa").mkdir(parents=True)
    shutil.copy(SEED, imported / "articles" / "voa" / "1048574.md")
    a = ("-a", str(root))
    cli(*a, "import-markdown", str(imported))
    page = tmp_path / "bannedbook.html"
    page.write_bytes(gzip.decompress(BANNEDBOOK.read_bytes()))
    url = "https://www.bannedbook.org/bnews/worldnews/20240620/seed-002.html"
    cli(*a, "archive", url, "--from-file", str(page))
    stories = json.loads(cli(*a, "stories", "--json").output)
    (story,) = [s for s in stories if len(s["articles"]) > 1]
    assert sorted(x["source"] for x in story["articles"]) == ["bannedbook", "voa"]
    hits = json.loads(cli(*a, "search", "普京", "--json").output)
    assert sorted(h["source"] for h in hits) == ["bannedbook", "voa"]
    assert sorted(h["source"] for h in json.loads(cli(*a, "search", "普丁", "--json").output)) == [
        "bannedbook",
        "voa",
    ]
    shown = json.loads(cli(*a, "story", str(story["id"]), "--json").output)
    assert shown["first_reported_by"] == "voa"
    cli(*a, "search", "，。", code=2)
    cli(*a, "search", "普京", "--since", "yesterday", code=2)
    assert json.loads(cli(*a, "search", "普京", "--since", "2030-01-01", "--json").output) == []
    cli(*a, "story", "999", code=2)


def test_the_stories_stage_leaves_its_sql_to_the_store() -> None:
    """Dialect-specific code lives in newsvault/store/ alone (store/stories.py, store/search.py)."""
    package = Path(__file__).parents[1] / "newsvault" / "stories"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith("sqlalchemy"), (path.name, name)
                assert name not in ("newsvault.store.schema", "newsvault.store.engine"), path.name


def test_who_reported_first_leads_a_story_whatever_order_its_articles_came_in(
    store: Store,
) -> None:
    later = add(store, "voa", "普京与金正恩签署条约", TREATY, T0 + 3_600_000, "a")
    process_pending(store)
    earlier = add(store, "cna", "朝俄签署全面战略伙伴关系条约", TREATY + "记者报道。", T0, "b")
    latest = add(store, "rfa", "普京金正恩签约", TREATY + "更多细节。", T0 + 7_200_000, "c")
    process_pending(store)
    (story,) = list_stories(store)
    assert story.title == "朝俄签署全面战略伙伴关系条约"
    assert (story.first_seen, story.last_seen) == (T0, T0 + 7_200_000)
    assert [a.id for a in story.articles] == [earlier, later, latest]
    assert archive_counts(store) == {"size": 3, "first_article": earlier}


def archive_counts(store: Store) -> dict[str, int]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        (row,) = conn.execute(text("SELECT size, first_article FROM stories")).all()
    return {"size": row[0], "first_article": row[1]}
