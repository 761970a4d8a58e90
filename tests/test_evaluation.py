"""The evaluation runner on a tiny corpus, with every metric checked against hand-worked values.

``WordEmbedder`` is FakeEmbedder without hashing (one dimension per word or Han bigram), so a
score is the cosine of two bags of words and the ranks below can be read off the texts.
``RepliesByQuestion`` replies per question (both in tests/fakes.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.__main__ import main
from rag.answer.pipeline import Pipeline
from rag.bench.evaluation import run, summarise
from rag.bench.failures import classify, failure_report
from rag.bench.questions import load_question_set
from rag.bench.report import summary_tables, write_report
from rag.bench.scoring import answer_language, contains_answers, normalize, retrieval_metrics
from rag.errors import QuestionSetError
from rag.index.build import build_index
from rag.index.spec import chunk_params
from tests.conftest import ROOT, make_doc
from tests.fakes import RepliesByQuestion, WordEmbedder

FIXTURES = Path(__file__).parent / "fixtures" / "eval"


REPLIES = {
    "2020年深圳建成多少5G基站？": "2020年深圳建成5G基站超4.6万个[1]。",
    "How much money did the special fund give?": "ＴＨＥ FUND GAVE ４５５ MILLION yuan [1].",  # full width
    "How many projects did the special fund support?": "It supported 1,030 projects [1].",  # 1,030 vs 1030
    "How many base stations did Shenzhen build in 2020?": "46,600 [1][2].",  # a bare figure
    "Any news today?": "Weather news says sunny skies [1].",
    "深圳建成多少5G基站，专项扶持资金多少？": "建成5G基站超4.6万个[1]。",  # misses the second part
    "深圳5G基站和扶持项目各有多少？": "基站4.6万个[1]，扶持项目1,030个[1]。",
    "工业互联网专项扶持资金共多少？": "NO_ANSWER",
    "东京的人口是多少？": "NO_ANSWER",
    "What is the population of Tokyo in 2020?": "Tokyo has 14 million people [1].",
    "深圳的5G base stations有多少？": "4.6万个[1]",
    "那扶持资金呢？": "共4.55亿元[1]。",
    "And how many projects?": "It supported 1,030 projects [1].",
    "And the base stations?": "NO_ANSWER",
}


@pytest.fixture
def pipeline(settings):
    docs = [
        make_doc(d["doc_id"], d["text"], d["title"], d["lang"])
        for d in json.loads((FIXTURES / "corpus.json").read_text(encoding="utf-8"))
    ]
    embedder = WordEmbedder()
    build_index(docs, embedder, settings.index_dir, chunk_params(settings), progress=False)
    # windows, not evidence sentences: the scripted citations count on every article being shown
    s = replace(settings, use_llm=True, evidence=False)
    return Pipeline.load(s, embedder, RepliesByQuestion(REPLIES))


@pytest.fixture
def result(pipeline):
    qs = load_question_set(FIXTURES / "questions.jsonl")
    return summarise(run(qs, pipeline, progress=False), k=5)


# --------------------------------------------------------------------------- judging


def test_normalisation_folds_width_case_and_thousands_separators():
    assert normalize("ＧＤＰ Ｒｏｓｅ ４６，６００") == "gdp rose 46600"
    assert normalize("2,000 and 1,234,567") == "2000 and 1234567"
    assert normalize("2020,2021年") == "2020,2021年"  # not a thousands separator
    assert normalize("约 4.6 万个[2]") == "约4.6万个"


def test_answer_matching_any_or_all():
    assert contains_answers("共扶持项目１，０３０个", ["1030"])
    assert contains_answers("It reached 3.7 TRILLION yuan", ["3.7 trillion"])
    assert not contains_answers("4.6万个", ["4.6万", "4.55亿"], all_required=True)
    assert contains_answers("4.6万个和4.55亿元", ["4.6万", "4.55亿"], all_required=True)
    assert not contains_answers("anything", [])


@pytest.mark.parametrize(
    "text,lang",
    [
        ("约4.6万个[1]。", "zh"),
        ("About 46,000 [1].", "en"),
        ("46,600 [1][2].", None),
        ("52.6%", None),
        ("5G", None),
        ("ＴＨＥ FUND", "en"),
        ("深圳的 GDP and output 是多少", "zh"),
        ("🙂 OK", None),
    ],
)
def test_answer_language_ignores_markers_and_is_neutral_for_figures(text, lang):
    assert answer_language(text) == lang


def test_retrieval_metrics_by_hand():
    assert retrieval_metrics([1, 3, None, 6]) == {
        "hit@1": 0.25,
        "hit@3": 0.5,
        "hit@5": 0.5,
        "mrr": round((1 + 1 / 3 + 0 + 1 / 6) / 4, 4),
    }
    assert retrieval_metrics([]) == {"hit@1": None, "hit@3": None, "hit@5": None, "mrr": None}


# --------------------------------------------------------------------------- the runner


def test_every_metric_on_the_fixture(result):
    q = {r["id"]: r for r in result["questions"]}
    # ranks: q4's only source is the Chinese article, the English one ranks first; q5's source
    # shares no word with the question, the six "news" articles all rank above it
    ranks = {i: r["hit_rank"] for i, r in q.items()}
    assert ranks == {
        "q1": 1,
        "q2": 1,
        "q3": 1,
        "q4": 2,
        "q5": None,
        "q6": 1,
        "q7": 1,
        "q8": 1,
        "q9": None,
        "q10": None,
        "q11": 1,
    }
    assert result["n"] == 11 and result["n_answerable"] == 9
    assert result["retrieval"] == {
        "hit@1": round(7 / 9, 4),
        "hit@3": round(8 / 9, 4),
        "hit@5": round(8 / 9, 4),
        "mrr": round(7.5 / 9, 4),
    }
    # correct: q5 wrong answer, q6 misses one of its "all" answers, q8 abstained although
    # answerable, q10 answered although unanswerable; q9 abstained as it should
    assert [i for i, r in q.items() if not r["correct"]] == ["q5", "q6", "q8", "q10"]
    assert result["answer_accuracy"] == round(7 / 11, 4)
    assert q["q2"]["correct"] and q["q3"]["correct"]  # full-width/upper case and "1,030" vs "1030"
    assert q["q8"]["abstained"] and q["q9"]["abstained"] and not q["q10"]["abstained"]
    assert result["abstention_accuracy"] == round(9 / 11, 4)
    assert result["abstained_when_answerable"] == round(1 / 9, 4)
    assert result["abstained_when_unanswerable"] == 0.5
    # language: q4 is a bare figure (neutral); the others are in the question's language
    # (test_extractive_quotes_count_against_language_match has mismatches)
    assert q["q4"]["language_match"] is None and q["q3"]["language_match"] is True
    assert result["language_match"] == 1.0 and result["language_neutral"] == 1
    # citations of answered answerable questions: q4 cites the English article (not a
    # source) and q5 a news article
    assert q["q4"]["citations"] == ["en_5g", "zh_5g"] and q["q5"]["citations"][0].startswith("news_")
    # q7 cites [1] for both figures; the review moves the second ("1,030") to the fund article
    # that states it, so 10 cited, 8 of them sources
    assert result["citation_precision"] == 0.8
    assert set(result["latency_ms"]) == {"retrieve_p50", "first_token_p50", "total_p50", "total_p95"}
    assert result["latency_ms"]["first_token_p50"] > 0
    assert result["run"]["mode"] == "llm"


def test_breakdowns(result):
    assert result["by_lang"]["en"]["answer_accuracy"] == 0.6
    assert result["by_lang"]["zh"]["answer_accuracy"] == round(4 / 6, 4)
    assert result["by_kind"]["unanswerable"]["abstention_accuracy"] == 0.5
    assert set(result["by_pair"]) == {"zh→en+zh", "en→en+zh", "en→zh", "zh→zh"}
    assert result["by_pair"]["en→zh"]["retrieval"] == {"hit@1": 0.0, "hit@3": 0.5, "hit@5": 0.5, "mrr": 0.25}
    assert "by_turn" not in result
    json.dumps(result, ensure_ascii=False)  # serialisable


def test_extractive_quotes_count_against_language_match(pipeline, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        line(lang="en", question="5G in Shenzhen?", answers=["4.6万"], sources=["zh_5g", "en_5g"])
        + "\n"
        + line(id="c", question="东京的人口是多少？", answers=[], sources=[])
        + "\n",
        encoding="utf-8",
    )
    extractive = replace(pipeline, settings=replace(pipeline.settings, use_llm=False))
    result = summarise(run(load_question_set(path), extractive, progress=False))
    q = result["questions"]
    # the English question is answered by quoting the Chinese article first; the Chinese
    # question by quoting English news (and not abstaining: wrong)
    assert q[0]["answer"].startswith("Most relevant passages") and q[0]["answer_lang"] == "zh"
    assert q[1]["answer_lang"] == "en" and not q[1]["correct"]
    assert result["language_match"] == 0.0 and result["run"]["mode"] == "extractive"
    assert result["latency_ms"]["first_token_p50"] is None


def test_dialogues_pass_history_and_report_turns(pipeline):
    seen = []
    ask = pipeline.ask

    def spy(question, history=(), **options):
        seen.append(list(history))
        return ask(question, history, **options)

    pipeline.ask = spy
    qs = load_question_set(FIXTURES / "dialogues.jsonl")
    assert qs.format == "dialogues" and len(qs) == 5
    result = summarise(run(qs, pipeline, progress=False))
    assert [len(h) for h in seen] == [0, 1, 0, 1, 2]
    assert seen[1][0] == ("2020年深圳建成多少5G基站？", "2020年深圳建成5G基站超4.6万个[1]。")
    q = {r["id"]: r for r in result["questions"]}
    assert q["d1.2"]["hit_rank"] == 3  # retrieved with the previous question prepended
    assert q["d2.3"]["turn"] == 3
    by_turn = {t: m["answer_accuracy"] for t, m in result["by_turn"].items()}
    expected = {t: [r["correct"] for r in q.values() if r["turn"] == int(t)] for t in ("1", "2", "3")}
    assert by_turn == {t: round(sum(c) / len(c), 4) for t, c in expected.items()}
    follow_ups = [q[i]["correct"] for i in ("d1.2", "d2.2", "d2.3")]
    assert result["follow_up_accuracy"] == round(sum(follow_ups) / 3, 4)


def test_limit_keeps_the_first_lines_but_checks_them_all(tmp_path):
    assert len(load_question_set(FIXTURES / "questions.jsonl", limit=3)) == 3
    bad = tmp_path / "q.jsonl"
    bad.write_text((FIXTURES / "questions.jsonl").read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="line 13"):
        load_question_set(bad, limit=1)


# --------------------------------------------------------------------------- bad files

BASE = {"id": "a", "lang": "zh", "question": "深圳？", "answers": ["1"], "sources": ["zh_5g"]}
GOOD = json.dumps(BASE, ensure_ascii=False)


def line(**changes) -> str:
    """BASE with changes; a change to None drops the key."""
    data = {**BASE, "id": "b", **changes}
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


@pytest.mark.parametrize(
    "text,message",
    [
        (line()[:-1], "not valid JSON"),
        ('["a list"]', "expected a JSON object, found list"),
        (line(answers=None), "missing key 'answers'"),
        (line(answers="1"), "'answers' should be a list of answer strings"),
        (line(lang="fr"), "'lang' should be"),
        (line(question="？？"), "cannot be asked"),
        (line(sources=[]), "'sources' is empty"),
        (line(all="yes"), "'all' should be true or false"),
        (line(id="a"), "'a' is already used on line 1"),
        (json.dumps({"id": "d", "lang": "zh", "turns": [BASE]}), "expected a question like the first line"),
    ],
)
def test_a_malformed_line_is_reported_with_its_number(tmp_path, text, message):
    path = tmp_path / "q.jsonl"
    path.write_text(f"{GOOD}\n\n{text}\n", encoding="utf-8")
    with pytest.raises(QuestionSetError) as exc:
        load_question_set(path)
    assert "q.jsonl, line 3: " in str(exc.value) and message in str(exc.value)


def test_a_bad_dialogue_turn_names_the_turn(tmp_path):
    path = tmp_path / "d.jsonl"
    turns = [{"question": "Hi?", "answers": ["1"], "sources": ["x"]}, {"question": "And?", "answers": [""]}]
    path.write_text(json.dumps({"id": "d", "lang": "en", "turns": turns}) + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="line 1, turn 2: 'answers' should be"):
        load_question_set(path)


def test_unknown_sources_stop_the_run_before_any_question(pipeline, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(line(sources=["zh_5G"]) + "\n", encoding="utf-8")
    calls = len(pipeline.embedder.calls)
    with pytest.raises(QuestionSetError, match="not in the index.*line 1: 'zh_5G'|line 1: 'zh_5G'.*not in"):
        run(load_question_set(path), pipeline, progress=False)
    assert pipeline.generator.seen == [] and len(pipeline.embedder.calls) == calls


def test_the_bundled_sets_load():
    seed = load_question_set(ROOT / "eval" / "seed.jsonl")
    dialogues = load_question_set(ROOT / "eval" / "dialogues.jsonl")
    assert len(seed) == 118 and seed.format == "questions"
    assert len(dialogues.dialogues) == 15 and len(dialogues) == 41


# --------------------------------------------------------------------------- CLI and report


def test_report_has_tables_and_a_chart(result, tmp_path):
    md, png = write_report(result, tmp_path / "report")
    text = md.read_text(encoding="utf-8")
    assert "| all | 11 | 77.8% | 88.9% | 88.9% | 0.833 | 63.6% | 81.8% | 100.0% | 80.0% |" in text
    assert "en→zh" in text and "### Wrong answers" in text and "| q6 |" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert summary_tables(result) in text


def test_cli_eval_writes_json_and_report(pipeline, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("rag.bench.evaluation.open_pipeline", lambda settings, build_corpus=False: pipeline)
    out = tmp_path / "out.json"
    args = ["eval", str(FIXTURES / "questions.jsonl"), "--json", str(out), "--report", str(tmp_path / "r")]
    assert main(args) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) >= {
        "n",
        "retrieval",
        "answer_accuracy",
        "abstention_accuracy",
        "language_match",
        "citation_precision",
        "latency_ms",
        "by_lang",
        "by_kind",
        "questions",
    }
    assert set(data["questions"][0]) >= {"answer", "citations", "hit_rank", "correct", "abstained"}
    assert (tmp_path / "r" / "report.png").exists()
    assert "| all | 11 |" in capsys.readouterr().out


def test_cli_eval_stops_on_a_bad_line_before_loading_models(monkeypatch, tmp_path, capsys):
    def never(*a, **k):
        raise AssertionError("models were loaded")

    monkeypatch.setattr("rag.bench.evaluation.open_pipeline", never)
    path = tmp_path / "q.jsonl"
    path.write_text(f"{GOOD}\n{line(answers=None, answer=['1'])}\n", encoding="utf-8")
    assert main(["eval", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 2: missing key 'answers'" in err


# --------------------------------------------------------------------------- why answers fail


def record(**changes) -> dict:
    base = {
        "id": "q",
        "kind": "fact",
        "answers": ["4.6万", "46,000"],
        "all": False,
        "sources": ["a"],
        "retrieved": ["b", "a", "c"],
        "evidence": ["去年建成5G基站4.6万个。"],
        "draft": "",
        "stopped_by": "",
        "correct": False,
        "abstained": False,
        "answer": "4.7万个[1]",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"correct": True, "answer": "4.6万个[1]"}, None),
        ({"retrieved": ["b", "c", "d", "e", "f", "a"]}, "retrieval miss"),  # the source only at rank 6
        ({}, "reading error"),
        ({"evidence": ["去年建成基站很多。"]}, "evidence cut"),
        ({"evidence": ["About 46,000 stations were built."]}, "reading error"),  # the value, not the words
        ({"answer": "46000 [1]"}, "scoring"),
        ({"abstained": True, "answer": "资料中没有答案。", "stopped_by": "model"}, "refused"),
        ({"abstained": True, "answer": "资料中没有答案。", "stopped_by": "gate"}, "refused"),
        ({"abstained": True, "stopped_by": "check", "draft": "建成4.6万个[1]"}, "withdrawn"),
        ({"abstained": True, "stopped_by": "check", "draft": "建成4.7万个[1]"}, "refused"),  # a wrong draft
        ({"answers": [], "sources": [], "answer": "东京有1400万人[1]"}, "answered unanswerable"),
        # every part required: one part in the evidence is not enough
        ({"answers": ["4.6万", "4.55亿"], "all": True}, "evidence cut"),
        ({"answers": ["4.6万", "4.55亿"], "all": True, "evidence": ["4.6万个", "4.55亿元"]}, "reading error"),
    ],
)
def test_failure_classes_of_hand_made_records(changes, expected):
    assert classify(record(**changes)) == expected


def test_failure_report_counts_by_class_and_kind():
    records = [
        record(id="q1"),
        record(id="q2", kind="date", evidence=["无关"]),
        record(id="q3", correct=True),
        record(id="q4", abstained=True, stopped_by="model"),
    ]
    report = failure_report(records)
    assert report["counts"] == {"evidence cut": 1, "reading error": 1, "refused": 1}
    assert report["by_kind"] == {"date": {"evidence cut": 1}, "fact": {"reading error": 1, "refused": 1}}
    held = {f["id"]: f["evidence_holds_answer"] for f in report["failed"]}
    assert held == {"q1": True, "q2": False, "q4": True}


def test_a_run_records_its_evidence_and_classifies_its_failures(result, tmp_path):
    q = {r["id"]: r for r in result["questions"]}
    assert all(r["evidence"] for r in q.values() if r["stopped_by"] != "retrieval")
    assert all(r["stopped_by"] in ("", "retrieval", "gate", "model", "check", "empty") for r in q.values())
    failed = {f["id"]: f["class"] for f in result["failures"]["failed"]}
    assert set(failed) == {r["id"] for r in q.values() if not r["correct"]}
    assert sum(result["failures"]["counts"].values()) == len(failed)
    assert "### Why answers failed" in summary_tables(result)
    report = write_report(result, tmp_path)[0].read_text(encoding="utf-8")
    assert all(f"| {i} | {cls} |" in report for i, cls in failed.items())
