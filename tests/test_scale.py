"""``python -m rag bench scale`` on a tiny replicated sample, with the hash embedder (no model)."""

from __future__ import annotations

import json

from rag.__main__ import main
from rag.bench.scale_corpus import replicate
from rag.ingest.collections import Collection

SAMPLE = [
    "[ 2023-07-28 16：40 ] ，正文：人民网柏林7月28日电 中国驻德国大使馆举行招待会。约350人出席。",
    "2023-08-11 15:10，正文：中新网约翰内斯堡8月10日电 中国-南非企业贸易对接会10日举行，签约金额超1亿美元。",
    "，正文：深圳2020年建成5G基站4.6万个，实现5G独立组网全覆盖。Shenzhen built 46,000 base stations.",
]


def test_replicate_makes_distinct_shuffled_articles(tmp_path):
    src = tmp_path / "news.txt"
    src.write_text("\n".join(SAMPLE) + "\n", encoding="utf-8")
    replicate(src, 10, tmp_path / "out.txt")
    docs = list(Collection(tmp_path / "out.txt"))
    assert len(docs) == 10 and len({d.doc_id for d in docs}) == 10  # nothing collapses as a duplicate
    assert sum("次转载" in d.text for d in docs) == 7 and any(d.meta.date == "2023-07-31" for d in docs)


def test_bench_scale_runs_end_to_end(tmp_path, capsys, monkeypatch):
    for key in ("RAG_VECTOR_STORE", "RAG_COLLECTION", "RAG_MILVUS_URI"):
        monkeypatch.delenv(key, raising=False)
    src = tmp_path / "news.txt"
    src.write_text("\n".join(SAMPLE) + "\n", encoding="utf-8")
    out = tmp_path / "scale.json"
    code = main(
        [
            "bench",
            "scale",
            "--articles",
            "60",
            "--source",
            str(src),
            "--embedder",
            "hash",
            "--exact-max",
            "30",
            "--queries",
            "5",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    r = json.loads(out.read_text("utf-8"))
    assert r["articles"] == 60 and r["chunks"] >= 60 and r["vector_index"] == "IndexIVFFlat"
    assert r["build_recall_at_10"] >= 0.98 and 0 <= r["query_recall_at_10"] <= 1
    assert r["add_100_embedded"] > 0 and r["deleted"] == 60 and r["peak_rss_mb"] > 0
    assert "| add 100 articles" in capsys.readouterr().out
