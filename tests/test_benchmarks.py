"""XQuAD and RGB runners on tiny fixtures in their formats (tests/fixtures/eval), and the real
files in ../shared/benchmarks when present."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from rag.__main__ import main
from rag.bench.rgb import load_rgb, rgb_context, rgb_correct, run_rgb
from rag.bench.scoring import normalize
from rag.bench.xquad import load_xquad, run_xquad, squad_f1, squad_tokens
from rag.errors import QuestionSetError
from tests.fakes import FakeGenerator, RepliesByQuestion, WordEmbedder
from tests.test_evaluation import FIXTURES

EN, ZH, RGB = FIXTURES / "xquad.en.json", FIXTURES / "xquad.zh.json", FIXTURES / "rgb.jsonl"


@pytest.fixture
def settings(settings):
    """The fake embedder alone: no second (real) retrieval encoder."""
    return replace(settings, encoder2="", encoder2_weight=0.0)


class ReaderGenerator(FakeGenerator):
    """Answers with every known answer string found in a passage, citing it; else NO_ANSWER."""

    def __init__(self, candidates: list[str]) -> None:
        super().__init__()
        self.candidates = candidates

    def stream(self, messages, max_tokens=256):
        passages, n = {}, 0
        for text in messages[-1]["content"].splitlines():
            if m := re.match(r"\[(\d+)\] ", text):
                n = int(m.group(1))
            elif n:
                passages[n] = passages.get(n, "") + text
        found = []
        for c in self.candidates:
            n = next((n for n, p in passages.items() if normalize(c) in normalize(p)), 0)
            if n:
                found.append(f"{c}[{n}]")
        self.reply = "，".join(found) or "NO_ANSWER"
        yield from super().stream(messages, max_tokens)


# --------------------------------------------------------------------------- XQuAD


def test_squad_normalisation_and_f1_by_hand():
    assert squad_tokens("The Panthers' defense: 308 points!") == ["panthers", "defense", "308", "points"]
    assert squad_tokens("黑豹队丢了 308 分。") == ["黑", "豹", "队", "丢", "了", "308", "分"]
    assert squad_f1("At Levi's Stadium", "Levi's Stadium") == 0.8  # P 2/3, R 1
    assert squad_f1("在李维斯体育场", "李维斯体育场") == pytest.approx(12 / 13)  # P 6/7, R 1
    assert squad_f1("46,600", "46600") == 1.0 and squad_f1("", "x") == 0.0


def test_xquad_file_is_read_with_paragraph_positions():
    f = load_xquad(ZH)
    assert f.lang == "zh" and len(f.paragraphs) == 4
    assert [(q.id, q.paragraph) for q in f.questions] == [
        ("s1", 0),
        ("s2", 1),
        ("b1", 2),
        ("b2", 3),
        ("b3", 3),
    ]
    assert load_xquad(EN).lang == "en"


def test_xquad_same_language_scores_answers(settings):
    replies = {
        "How many 5G base stations did Shenzhen build in 2020?": "46,600 [1].",  # EM
        "What was Shenzhen's industrial output?": "3.7 trillion yuan [1]",  # EM
        "How many points did the Panthers defense surrender?": "NO_ANSWER",  # 0
        "Where was Super Bowl 50 played?": "At Levi's Stadium [1].",  # F1 0.8
        "When did Denver win Super Bowl 50?": "On February 7, 2016 [1].",  # F1 6/7
    }
    gen = RepliesByQuestion(replies)
    r = run_xquad(EN, EN, replace(settings, use_llm=True), WordEmbedder(), gen, progress=False)
    assert r["pair"] == "en→en" and r["n"] == 5 and r["n_paragraphs"] == 4
    assert r["retrieval"] == {"hit@1": 1.0, "hit@3": 1.0, "hit@5": 1.0, "mrr": 1.0}
    assert r["answer"] == {"f1": round((1 + 1 + 0 + 0.8 + 6 / 7) / 5, 4), "exact_match": 0.4, "contains": 0.8}
    assert r["abstained"] == 0.2 and r["run"]["mode"] == "llm"


def test_xquad_cross_lingual_is_labelled_and_gold_follows_the_question_id(settings, tmp_path):
    r = run_xquad(ZH, EN, settings, WordEmbedder(), progress=False)
    assert r["pair"] == "en→zh" and r["run"]["mode"] == "extractive"
    assert [q["paragraph"] for q in r["questions"]] == ["p0", "p1", "p2", "p3", "p3"]
    # extractive answers quote the Chinese paragraph: F1 against English gold is low (the intro
    # line and markers are not counted)
    assert all("Most relevant" not in q["answer"] or q["f1"] < 1 for q in r["questions"])
    # the same paragraphs with the articles in the other order: gold follows the ids
    data = json.loads(ZH.read_text(encoding="utf-8"))
    data["data"].reverse()
    swapped = tmp_path / "xquad.zh.swapped.json"
    swapped.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    r2 = run_xquad(swapped, EN, settings, WordEmbedder(), progress=False)
    assert [q["paragraph"] for q in r2["questions"]] == ["p2", "p3", "p0", "p1", "p1"]
    ranks = {q["id"]: q["hit_rank"] for q in r2["questions"]}
    assert ranks["s1"] == ranks["s2"] == ranks["b2"] == ranks["b3"] == 1  # shared numbers and synonyms


def test_xquad_bad_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "a"}]}]}]}', encoding="utf-8")
    with pytest.raises(QuestionSetError, match=r"data\[0\].paragraphs\[0\].qas\[0\]: expected"):
        load_xquad(bad)


# --------------------------------------------------------------------------- RGB


def test_rgb_answer_parts():
    parts = load_rgb(RGB)[2].answer
    assert parts == (("1313851", "131万"), ("187万", "186.35万"))
    assert rgb_correct("特斯拉交付1,313,851辆，比亚迪187万辆", parts)
    assert not rgb_correct("特斯拉交付131万辆", parts)
    both = load_rgb(RGB)[1].answer  # ["中国", "日本"]: both required
    assert rgb_correct("中国、日本等", both) and not rgb_correct("中国", both)


@pytest.mark.parametrize("rate,positives,negatives", [(0.4, 3, 2), (0.2, 3, 2), (1.0, 0, 4), (0.8, 1, 4)])
def test_rgb_context_mixes_passages_at_the_noise_rate(rate, positives, negatives):
    item = load_rgb(RGB)[0]  # 3 positives, 4 negatives
    ctx = rgb_context(item, 5, rate)
    assert (sum(p for _, p in ctx), sum(not p for _, p in ctx)) == (positives, negatives)
    assert ctx == rgb_context(item, 5, rate)  # seeded
    assert all((text in item.negative) != positive for text, positive in ctx)


def test_rgb_context_takes_a_positive_for_every_answer_part():
    item = load_rgb(RGB)[2]  # zh_int style: one group of positives per part
    ctx = rgb_context(item, 5, 0.6)  # 2 positives
    shown = [t for t, positive in ctx if positive]
    assert len(shown) == 2 and any("特斯拉" in t for t in shown) and any("比亚迪" in t for t in shown)


def _reader() -> ReaderGenerator:
    return ReaderGenerator(["4.6万", "中国", "日本", "131万", "1313851", "187万", "186.35万"])


def test_rgb_noise_robustness(settings):
    s = replace(settings, use_llm=True, prompt_passages=5)
    r = run_rgb(RGB, s, 0.4, 5, WordEmbedder(), _reader(), progress=False)
    assert r["n"] == 3 and r["accuracy"] == 1.0 and r["abstained"] == 0.0
    assert r["rejection_rate"] is None and r["citation_precision"] == 1.0
    assert [len(q["context"]) for q in r["questions"]] == [5, 5, 5]


def test_an_rgb_abstention_is_not_correct_though_the_passages_it_shows_hold_the_answer(settings):
    s = replace(settings, use_llm=True, prompt_passages=5)
    r = run_rgb(RGB, s, 0.4, 5, WordEmbedder(), FakeGenerator("NO_ANSWER"), limit=1, progress=False)
    (q,) = r["questions"]
    assert q["abstained"] and rgb_correct(q["answer"], q["answer_parts"])  # the passages it shows
    assert not q["correct"] and r["accuracy"] == 0.0


def test_rgb_rejection_with_only_negatives(settings):
    s = replace(settings, use_llm=True, prompt_passages=5)
    r = run_rgb(RGB, s, 1.0, 5, WordEmbedder(), _reader(), limit=2, progress=False)
    assert r["n"] == 2 and r["rejection_rate"] == 1.0 and r["accuracy"] == 0.0
    assert all(c.startswith("neg") for q in r["questions"] for c in q["context"])


def test_rgb_bad_line_is_reported_with_its_number(tmp_path):
    bad = tmp_path / "rgb.jsonl"
    missing_answer = '{"id": 9, "query": "x", "positive": []}\n'
    bad.write_text(RGB.read_text(encoding="utf-8") + missing_answer, encoding="utf-8")
    with pytest.raises(QuestionSetError, match="rgb.jsonl, line 4: expected"):
        load_rgb(bad)


# --------------------------------------------------------------------------- CLI


def test_cli_bench_xquad_and_rgb(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("rag.bench.xquad.SentenceTransformerEmbedder.from_settings", lambda s: WordEmbedder())
    monkeypatch.setattr("rag.bench.benchmarks.load_encoder2", lambda name: None)
    out = tmp_path / "x.json"
    args = [
        "bench",
        "xquad",
        "--passages",
        str(ZH),
        "--questions",
        str(EN),
        "--no-llm",
        "--limit",
        "2",
        "--json",
        str(out),
    ]
    assert main(args) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["n"] == 2
    assert "| en→zh | 2 | 4 |" in capsys.readouterr().out
    assert main(["bench", "rgb", "--data", str(RGB), "--noise-rate", "1", "--no-llm"]) == 0
    assert "| rgb.jsonl | 1 | 5 | 3 |" in capsys.readouterr().out


# --------------------------------------------------------------------------- real files


@pytest.mark.shared
def test_real_xquad_files_are_parallel(shared_dir):
    en = load_xquad(shared_dir / "benchmarks" / "xquad" / "xquad.en.dev.json")
    zh = load_xquad(shared_dir / "benchmarks" / "xquad" / "xquad.zh.dev.json")
    assert (en.lang, zh.lang) == ("en", "zh") and len(en.paragraphs) == len(zh.paragraphs) == 120
    zh_at = {q.id: q.paragraph for q in zh.questions}
    assert all(zh_at[q.id] == q.paragraph for q in en.questions)
    assert all(any(a in zh.paragraphs[q.paragraph] for a in q.answers) for q in zh.questions)


@pytest.mark.shared
@pytest.mark.parametrize("name", ["zh_refine.dev.jsonl", "zh_int.dev.jsonl"])
def test_real_rgb_files_load_and_mix(shared_dir, name):
    items = load_rgb(shared_dir / "benchmarks" / "rgb" / name)
    assert len(items) >= 50 and all(item.answer for item in items)
    for item in items:
        ctx = rgb_context(item, 5, 0.4)
        assert len(ctx) == 5 and sum(not p for _, p in ctx) == 2
