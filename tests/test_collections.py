"""Collection files: one article a line (CRUD news) and JSON Lines, streamed, bad lines skipped."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rag.errors import CorpusError
from rag.index.build import IndexStore
from rag.index.sync import build
from rag.ingest.collections import Collection, parse_crud_line, parse_json_line
from tests.fakes import FakeEmbedder

CRUD_LINES = [
    "[ 2023-07-28 16：40 ] ，正文：人民网柏林7月28日电 中国驻德国大使馆举行招待会。约350人出席。",
    "2023-08-11 15:10，正文：中新网约翰内斯堡8月10日电 “中国-南非企业贸易对接会”10日举行。",
    "08/16  13:50，正文：参考消息网8月16日报道 Maui 大火致死人数可能增至 🔥 数百人。",
    "这一行没有正文标记",  # malformed: no marker
    "，正文：   ",  # malformed: no text
    "发布时间：2023-07-29 11:49:25，正文：Sayings：许多女孩，都曾经梦想拥有一个芭比娃娃。",
    "[ 2023-07-28 16：40 ] ，正文：人民网柏林7月28日电 中国驻德国大使馆举行招待会。约350人出席。",  # repeated
]


def write(path, lines, encoding="utf-8"):
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_crud_lines_parse_with_full_width_colons_and_missing_years():
    assert parse_crud_line("[ 2023-07-28 16：40 ] ，正文：深圳") == ("2023-07-28", "深圳")
    assert parse_crud_line("07-20 22:43，正文：世名科技（300522）") == ("", "世名科技（300522）")
    assert parse_crud_line("，正文：无日期") == ("", "无日期")
    with pytest.raises(ValueError, match="正文"):
        parse_crud_line("[ 2023-07-28 ] 没有标记")


def test_crud_collection_streams_documents_and_counts_bad_lines(tmp_path):
    coll = Collection(write(tmp_path / "news.txt", CRUD_LINES))
    assert len(coll) == 7
    docs = list(coll)
    assert [d.meta.date for d in docs] == ["2023-07-28", "2023-08-11", "", "2023-07-29"]
    assert all(d.meta.lang == "zh" and d.meta.source == "news.txt" for d in docs)
    assert docs[0].doc_id.startswith("news-") and len({d.doc_id for d in docs}) == 4
    assert docs[0].meta.title.startswith("人民网柏林7月28日电")
    assert "🔥" in docs[2].text
    assert coll.skipped_count == 3 and coll.reasons == {"malformed": 2, "duplicate": 1}
    assert coll.skipped[0].startswith('news.txt:4: no "正文：" marker')
    assert coll.skipped[1].startswith("news.txt:5:")
    assert coll.skipped[2].startswith("news.txt:7: same article id")


def test_ids_do_not_depend_on_line_numbers(tmp_path):
    first = [d.doc_id for d in Collection(write(tmp_path / "news.txt", CRUD_LINES[:3]))]
    lines = ["，正文：新的一行。", *CRUD_LINES[:3][::-1]]
    moved = [d.doc_id for d in Collection(write(tmp_path / "news.txt", lines))]
    assert set(first) <= set(moved)


def test_json_lines_with_fields_and_malformed_records(tmp_path):
    records = [
        {
            "id": "a1",
            "title": "深圳5G基站",
            "date": "2021-01-20T13:17:00Z",
            "url": "https://x.cn/a",
            "text": "2020年深圳建成5G基站超4.6万个。",
        },
        {
            "title": "City output",
            "date": "January 21, 2021",
            "url": "not a url",
            "text": "<p>Shenzhen's industrial output reached 3.7 trillion yuan.</p><p>It grew 2.9%.</p>",
        },
        {"title": "no text"},
        ["a", "list"],
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + ['{"text": "unterminated', ""]
    coll = Collection(write(tmp_path / "feed.jsonl", lines))
    docs = list(coll)
    assert [d.doc_id for d in docs][0] == "a1" and docs[1].doc_id.startswith("feed-")
    assert docs[0].meta.url == "https://x.cn/a" and docs[0].meta.date == "2021-01-20"
    assert docs[1].meta.lang == "en" and docs[1].meta.url == "" and docs[1].meta.date == "2021-01-21"
    assert "<p>" not in docs[1].text and "It grew 2.9%." in docs[1].text
    assert coll.skipped_count == 3
    assert [s.split(": ", 1)[0] for s in coll.skipped] == ["feed.jsonl:3", "feed.jsonl:4", "feed.jsonl:5"]
    assert "not valid JSON" in coll.skipped[2] and "not an object" in coll.skipped[1]


def test_parse_json_line_fields():
    assert parse_json_line('{"content": "正文", "doc_id": "x"}')["id"] == "x"
    with pytest.raises(ValueError, match="text"):
        parse_json_line('{"text": ""}')


def test_lines_not_in_utf8_and_too_long_lines_are_skipped(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(
        "，正文：深圳。\n".encode()
        + "，正文：广东。\n".encode("gbk")
        + b"[x]\xef\xbc\x8c"
        + "正文：".encode()
        + "长".encode() * 400
        + b"\n"
    )
    coll = Collection(path, max_bytes=600)
    assert len(list(coll)) == 1
    assert coll.reasons == {"not UTF-8": 1, "too long": 1}


def test_missing_file_and_file_without_articles_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist.*--collection"):
        Collection(tmp_path / "nothing.txt")
    coll = Collection(write(tmp_path / "bad.txt", ["no marker", "still none"]))
    with pytest.raises(CorpusError, match=r"holds no article \(first: bad.txt:1:"):
        list(coll)


def test_build_from_a_collection_then_update_incrementally(tmp_path, settings):
    path = write(tmp_path / "news.txt", CRUD_LINES)
    s = replace(settings, collection=path, encoder2="")
    emb = FakeEmbedder()
    first = build(s, embedder=emb, progress=False)
    assert first.build.n_docs == 4 and first.skipped_count == 3
    assert first.skipped_lines[0].startswith("news.txt:4")
    store = IndexStore.load(s.index_dir)
    assert {d.source for d in store.docs()} == {"news.txt"}
    store.close()
    write(path, [*CRUD_LINES, "2024-01-02，正文：深圳新增公交快充站120座。"])
    emb2 = FakeEmbedder()
    again = build(s, embedder=emb2, progress=False)
    assert again.build.in_place and again.build.n_docs == 5 and len(again.build.changed_docs) == 1
    assert emb2.embedded_passages() == again.build.embedded == 1


@pytest.mark.shared
def test_the_crud_sample_loads_whole(shared_dir):
    coll = Collection(shared_dir / "benchmarks" / "crud-news" / "news_1_1.txt")
    docs = list(coll)
    assert len(docs) == 1930 and coll.skipped_count == 0
    assert sum(1 for d in docs if d.meta.date) > 1500
