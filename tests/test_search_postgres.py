"""Search on PostgreSQL answers as on SQLite: the same articles, indexed by the stories stage
in both, give the same results in the same order (and the same ranks) for every kind of
query; and the PostgreSQL index's newest-first walk over blocks of ids is exercised with
small blocks, so that a query answered by the first blocks, by more, or by the whole archive
is compared too."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import opencc
import psycopg
import pytest
from sqlalchemy import text

from newsvault.errors import NewsvaultError
from newsvault.models import Article
from newsvault.store import Store
from newsvault.store import search as index
from newsvault.stories import search as searching
from newsvault.stories.process import process_pending
from newsvault.stories.search import search

T0 = 1718800000000  # 2024-06-19
HOUR = 3600 * 1000
SENTENCES = [
    "俄罗斯总统普京与朝鲜领导人金正恩在平壤签署全面战略伙伴关系条约。",
    "双方承诺在遭受侵略时互相提供军事援助。",
    "分析人士认为，这项条约标志着两国关系进入新的阶段。",
    "美国国务院表示将密切关注条约的执行情况。",
    "南方多地遭遇强降雨，江西和湖南的河流水位持续上涨。",
    "气象部门预计未来三天降雨仍将持续，提醒居民注意防范山洪。",
    "国家统计局公布的数据显示，五月份工业增加值同比增长百分之五。",
    "经济学家表示，房地产投资下滑仍是拖累经济的主要因素。",
    "华为发布了新款手机，搭载自研芯片，支持5G网络。",
    "苹果公司的iPhone售价在中国市场有所下调。",
    "人工智能公司发布大模型，称其在多项测试中超过GPT。",
    "特朗普表示将与金正恩再次会面。",
    "北韩试射了一枚弹道导弹，日本政府提出抗议。",
    "The Galaxy phone runs Windows apps through a GPU driver.",
    "Trump met Kim Jong Un in Singapore and talked about the treaty.",
    "COVID cases rose again in the city; hospitals asked for help.",
]
SOURCES = ["voa", "cna", "xinhua"]
QUERIES: list[tuple[str, dict]] = [
    ("条约", {}),
    ("经济", {}),
    ("朝鲜", {}),  # found as 北韩 too (a name variant)
    ("北韓", {}),
    ("普丁", {}),
    ("川普", {}),
    ("條約", {}),  # the other script
    ("全面战略", {}),
    ("金正恩", {}),
    ("人工智能", {}),
    ("共享充电宝", {}),  # nowhere
    ("华", {}),  # one character: every pair it begins
    ("iphone", {}),
    ("Windows GPU", {}),
    ("trump", {}),
    ("5G 手机", {}),
    ("条约 暴雨", {}),
    ("条约", {"source": "cna"}),
    ("经济", {"source": "xinhua", "limit": 5}),
    ("普京", {"since": dt.datetime(2024, 6, 25, tzinfo=dt.UTC)}),
    ("普京", {"until": dt.datetime(2024, 6, 22, tzinfo=dt.UTC)}),
    ("条约", {"since": dt.datetime(2024, 6, 21, tzinfo=dt.UTC), "source": "voa"}),
    ("经济", {"limit": 5, "offset": 5}),
    ("条约", {"source": "nosuch"}),
]


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[tuple[Store, Store]]:
    """Both archives, filled once for this module's tests (which only read)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "BLOCK", 2)  # 300 articles in 150 blocks: every round is asked
        patch.setattr(searching, "CANDIDATES", 40)  # the newest 40 of a common word
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        path = tmp_path_factory.mktemp("search") / "newsvault.db"
        sqlite, postgres = Store.open(path), Store(postgres_url)
        fill(sqlite)
        fill(postgres)
        yield sqlite, postgres
        sqlite.close()
        postgres.close()


def articles(count: int = 300) -> list[tuple[str, Article]]:
    rng = random.Random(13)
    traditional = opencc.OpenCC("s2t").convert
    made = []
    for n in range(count):
        body = "".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 6)))
        title = rng.choice(SENTENCES)[:14]
        if n % 5 == 0:  # an outlet writing in the other script
            body, title = traditional(body), traditional(title)
        if n % 7 == 0:
            body = body.replace("普京", "普丁").replace("朝鲜", "北韩")
        source = SOURCES[n % 3]
        published = T0 + n * HOUR
        made.append((source, Article(
            source=source, key=f"k{n}", url=f"https://{source}.example/{n}", title=title,
            html=f"<p>{body}</p>", text=body, published=published, fetched=published,
        )))  # fmt: skip
    return made


def fill(store: Store) -> None:
    for slug, item in articles():
        store.add_articles(store.ensure_source(slug, slug), [item], None)
    process_pending(store)  # the stories stage indexes them


def answers(store: Store, query: str, options: dict) -> list[tuple[str, str, float]]:
    return [
        (h.article.source, h.article.key, round(h.rank, 9)) for h in search(store, query, **options)
    ]


def test_postgresql_answers_every_kind_of_query_as_sqlite(stores: tuple[Store, Store]) -> None:
    sqlite, postgres = stores
    with postgres.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM search")).scalar() == 300
    found = 0
    for query, options in QUERIES:
        expected = answers(sqlite, query, options)
        assert answers(postgres, query, options) == expected, (query, options)
        found += bool(expected)
    assert found >= len(QUERIES) - 3  # nearly every query finds something to compare
    # the newest 40 matches are ranked: a common word is cut, a rare one found in full
    assert len(search(sqlite, "条约", limit=100)) == 40
    assert {h.article.key for h in search(postgres, "普丁")} == {
        h.article.key for h in search(postgres, "普京")
    }


@pytest.mark.parametrize(
    "query", ["'", "\\", "条约 & 经济", "条约 | !经济", "条:*", "a:* <-> b", "(((", "条约" * 400]
)
def test_tsquery_syntax_in_a_query_is_searched_as_text(
    stores: tuple[Store, Store], query: str
) -> None:
    sqlite, postgres = stores
    try:
        expected = answers(sqlite, query, {})
    except NewsvaultError as exc:
        assert "no words to search for" in str(exc)
        with pytest.raises(NewsvaultError, match="no words to search for"):
            search(postgres, query)
        return
    assert answers(postgres, query, {}) == expected


def test_a_time_span_finds_articles_archived_out_of_time_order(
    tmp_path: Path, postgres_url: str
) -> None:
    """A time span walks only the ids published_hours says it can hold: articles archived
    long after their date (a backfill, an import) or long before it are found all
    the same, on both databases, by since, until and both."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    late = [T0 - (k + 1) * 24 * HOUR for k in range(3)]  # archived last, dated before all
    late.append(T0 + 30 * HOUR + 5)  # archived last, in the hour the first span starts
    early = [T0 + (20 + k) * HOUR + 7 for k in range(3)]  # archived first, dated later
    dates = early + [T0 + n * HOUR for n in range(40)] + late
    made = [
        Article(
            source=SOURCES[n % 3], key=f"k{n}", url=f"https://{SOURCES[n % 3]}.example/{n}",
            title=f"第{n}篇", html="<p>条约</p>", text=SENTENCES[0], published=published,
            fetched=T0,
        )
        for n, published in enumerate(dates)
    ]  # fmt: skip
    spans: list[dict[str, Any]] = [
        {"since": T0 + 30 * HOUR},
        {"until": T0 + 10 * HOUR},
        {"since": T0 + 5 * HOUR, "until": T0 + 7 * HOUR + 1},
        {"since": T0 + 19 * HOUR, "until": T0 + 22 * HOUR},
        {"until": T0 - 50 * 24 * HOUR},  # before everything
        {"since": T0 + 900 * HOUR},  # after everything
        {"since": T0 - 2 * 24 * HOUR, "until": T0 + 2 * HOUR, "source": "voa"},
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "BLOCK", 2)
        patch.setattr(searching, "CANDIDATES", 1000)
        for store in (Store.open(tmp_path / "newsvault.db"), Store(postgres_url)):
            for item in made:
                store.add_articles(store.ensure_source(item.source, item.source), [item], None)
            process_pending(store)
            for span in spans:
                since, until = span.get("since", -(2**62)), span.get("until", 2**62)
                expected = {
                    a.key
                    for a in made
                    if since <= a.published < until and span.get("source", a.source) == a.source
                }
                options = {
                    name: dt.datetime.fromtimestamp(value / 1000, dt.UTC)
                    if name != "source"
                    else value
                    for name, value in span.items()
                }
                found = search(store, "条约", limit=100, **options)
                assert {h.article.key for h in found} == expected, (store.engine.dialect, span)
            store.close()
