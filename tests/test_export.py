"""`newsvault export`: an archive made by a real `newsvault run` against loopback feeds,
exported as JSON lines and as WARC, read back with warcio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsvault.archive import Archive
from newsvault.captures import read_capture
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .feedgen import rss
from .test_cli import cli
from .test_markdown import seeded_archive
from .test_pages import ARTICLE

# Days are taken in UTC+8: 00:30 on the 20th there is still the 19th in UTC.
GAMMA_DATES = {
    "g-18": "Tue, 18 Jun 2024 02:00:00 GMT",  # 2024-06-18 10:00 UTC+8
    "g-19": "Wed, 19 Jun 2024 15:30:00 GMT",  # 2024-06-19 23:30 UTC+8
    "g-20": "Wed, 19 Jun 2024 16:30:00 GMT",  # 2024-06-20 00:30 UTC+8
}


def gamma_feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>gamma {guid}</title><link>{base}/gamma/{guid}.html</link>"
        f"<guid>{guid}</guid><pubDate>{date}</pubDate><description><![CDATA[<p>伽马 {guid} "
        + "新闻全文。" * 80
        + "</p>]]></description></item>"
        for guid, date in GAMMA_DATES.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>gamma</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def archive(tmp_path: Path, server: LoopbackServer) -> Archive:
    """Feeds with full content (one served gzip-encoded), a summary-only item whose page is
    fetched (its own capture), and an article imported from markdown (no capture)."""
    base = server.base_url
    alpha = rss("alpha", 3, base=base)
    server.set("/alpha.xml", Route(alpha, encoding="gzip"))
    server.set("/beta.xml", Route(rss("beta", 2, base=base)))
    server.set("/gamma.xml", Route(gamma_feed(base)))
    daily = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>D</title>
    <item><title>Rain at last</title><link>{server.url("/news/rain.html")}</link>
    <description>Rain fell.</description></item></channel></rss>""".encode()
    server.set("/daily.xml", Route(daily))
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    sources = [
        (name, name.upper(), server.url(f"/{name}.xml"))
        for name in ("alpha", "beta", "gamma", "daily")
    ]
    made = make_archive(tmp_path / "news", sources)
    cli("-a", str(made.root), "run")
    cli("-a", str(made.root), "import-markdown", str(seeded_archive(tmp_path)))
    return made


def export(archive: Archive, *args: str, code: int = 0):
    return cli("-a", str(archive.root), "export", *args, code=code)


def lines(text: str) -> list[dict]:
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_matches_show_newest_first(archive: Archive, tmp_path: Path) -> None:
    result = export(archive)
    exported = lines(result.stdout)
    assert len(exported) == 3 + 2 + 3 + 1 + 1
    assert result.stderr == "Exported 10 articles to standard output (jsonl).\n"
    assert "普京" in result.stdout  # not escaped: ensure_ascii=False
    for item in exported:
        shown = json.loads(cli("-a", str(archive.root), "show", str(item["id"])).stdout)
        for watched in ("versions", "status", "gone_reason", "last_seen", "gone_since",
                        "summary_only", "recovered"):  # fmt: skip
            shown.pop(watched, None)  # what re-checks found is shown, not exported
        assert item == shown
    published = [(item["published"], item["id"]) for item in exported]
    assert published == sorted(published, reverse=True)
    out = tmp_path / "all.jsonl"
    export(archive, "--output", str(out))
    assert out.read_text(encoding="utf-8") == result.stdout
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_warc_holds_the_raw_captures_and_the_articles(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "export.warc.gz"
    result = export(archive, "--format", "warc", "--output", str(out))
    # alpha, beta and gamma's feed responses and the page fetched for daily's item
    assert "Exported 10 articles with 4 raw captures" in result.stderr
    by_id = {item["id"]: item for item in lines(export(archive).stdout)}
    data = out.read_bytes()
    store = archive.store()
    responses: dict[str, dict] = {}
    resources: list[tuple[dict, dict]] = []
    with out.open("rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            kind = record.rec_type
            headers = dict(record.rec_headers.headers)
            body = record.content_stream().read()
            offset, length = records.get_record_offset(), records.get_record_length()
            if kind == "response":
                responses[headers["WARC-Record-ID"]] = {
                    "raw": data[offset : offset + length],
                    "body": body,
                    "uri": headers["WARC-Target-URI"],
                }
            elif kind == "resource":
                resources.append((headers, json.loads(body)))
            else:
                assert kind == "warcinfo"
    assert len(responses) == 4 and len(resources) == 10
    referred = set()
    for headers, article in resources:
        assert article == by_id[article["id"]]
        assert headers["Content-Type"] == "application/json"
        assert headers["WARC-Target-URI"] == article["url"]
        if article["capture"] is None:  # imported from markdown
            assert article["source"] == "voa" and "WARC-Refers-To" not in headers
            continue
        response = responses[headers["WARC-Refers-To"]]
        referred.add(headers["WARC-Refers-To"])
        capture = store.capture(article["capture"])
        original = archive.captures_dir / capture.warc_file
        with original.open("rb") as fh:
            fh.seek(capture.warc_offset)
            assert response["raw"] == fh.read(capture.warc_length)  # byte for byte
        _, _, body = read_capture(archive.captures_dir, capture.warc_file, capture.warc_offset)
        assert response["body"] == body and response["uri"] == capture.url
        if article["source"] == "daily":  # the page fetched for a summary-only item
            assert response["uri"].endswith("/news/rain.html")
    assert referred == set(responses)
    store.close()


def test_filters_by_source_and_date(archive: Archive, tmp_path: Path) -> None:
    def titles(*args: str) -> list[str]:
        return [item["title"] for item in lines(export(archive, *args).stdout)]

    assert titles("--source", "gamma") == ["gamma g-20", "gamma g-19", "gamma g-18"]
    both = titles("--source", "beta", "-s", "gamma")
    assert sorted(both) == sorted(["beta 新闻 0", "beta 新闻 1", *titles("-s", "gamma")])
    assert titles("-s", "gamma", "--since", "2024-06-20") == ["gamma g-20"]
    assert titles("-s", "gamma", "--until", "2024-06-19") == ["gamma g-19", "gamma g-18"]
    assert titles("-s", "gamma", "--since", "2024-06-19", "--until", "2024-06-19") == ["gamma g-19"]
    assert titles("--until", "2024-06-17") == []
    out = tmp_path / "gamma.warc.gz"
    export(archive, "-f", "warc", "-o", str(out), "-s", "gamma", "--since", "2024-06-19")
    with out.open("rb") as fh:
        kinds = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)
        ]
    assert [k for k, _ in kinds] == ["warcinfo", "response", "resource", "resource"]
    assert kinds[1][1].endswith("/gamma.xml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nope"], "--source 'nope': no such source"),
        (["--since", "2024-13-01"], "--since '2024-13-01': give a date as YYYY-MM-DD"),
        (["--until", "yesterday"], "--until 'yesterday': give a date"),
        (["--since", "2024-06-20", "--until", "2024-06-19"], "is not before --until"),
        (["--format", "xml"], "--format 'xml': use jsonl or warc"),
        (["--format", "warc"], "--format warc writes a file: give --output"),
        (["--output", "{tmp}/no/such/dir/x.jsonl"], "cannot write (No such file or directory)"),
        (["--output", "{tmp}"], "is a folder"),
    ],
)
def test_bad_input_is_one_line(
    archive: Archive, tmp_path: Path, args: list[str], message: str
) -> None:
    result = export(archive, *[a.replace("{tmp}", str(tmp_path)) for a in args], code=2)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_lost_capture_file_leaves_the_articles_exported(archive: Archive, tmp_path: Path) -> None:
    for path in archive.captures_dir.glob("*.warc.gz"):
        path.write_bytes(b"")
    out = tmp_path / "x.warc.gz"
    result = export(archive, "-f", "warc", "-o", str(out), "-s", "alpha")
    assert "with 0 raw captures" in result.stderr and "could not be read" in result.stderr
    with out.open("rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds == ["warcinfo", "resource", "resource", "resource"]
