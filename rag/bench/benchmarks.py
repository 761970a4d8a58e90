"""Public benchmarks, asked through the chat's own answer path (retrieve, prompt, generate or
extract, abstain), over passages indexed with the configured embedder and chunking.

* XQuAD (``run_xquad``): every paragraph of the passages file becomes one document (``p0``,
  ``p1``… in file order) in a temporary index; the questions of a parallel file are asked. A
  question's gold paragraph is the paragraph of the passages file holding the same question id
  (by position when the id is absent). Reports hit@1/3/5, MRR, SQuAD-style answer F1 and exact
  match (``squad_tokens``: Han characters count one token each, as in MLQA's evaluation) and
  "contains" (the answer contains a gold answer, ``rag.bench.evaluation.normalize``), labelled
  questions→passages, e.g. "en→zh" for English questions over Chinese paragraphs.
* RGB (``run_rgb``): per query, ``passages`` passages are drawn (``rgb_context``) and indexed
  as the documents of a temporary index, then the query is asked with k = passages. Accuracy:
  the answer contains every part of the gold answer (a part is a string or a list of
  alternatives, ``rgb_correct``); at noise rate 1.0 the rejection rate (share abstained) is the
  measure that matters.

Indexes live in a temporary folder that is removed afterwards. Does not download data
(see ../shared/benchmarks/README.md) and does not modify the data files.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.answer.extractive import INTRO
from rag.answer.pipeline import Pipeline
from rag.bench.evaluation import (
    HIT_KS,
    QuestionSetError,
    answer_language,
    contains_answers,
    first_hit_rank,
    latency_summary,
    normalize,
    retrieval_metrics,
    share,
)
from rag.config import Settings
from rag.index.build import IndexStore, build_index, target_manifest
from rag.index.spec import chunk_params
from rag.models.embedding import Embedder, SentenceTransformerEmbedder
from rag.models.encoder2 import load_encoder2
from rag.models.generator import Generator
from rag.text.figures import CITATION_MARKER
from rag.text.lang import HAN, detect_lang
from rag.types import Answer, DocMeta, Document


def _document(doc_id: str, text: str, source: str) -> Document:
    """A passage as an article without title or date (nothing the paragraph itself does not say)."""
    text = re.sub(r"[ \t\r\f\v\u3000]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    meta = DocMeta(doc_id, "", "", "", detect_lang(text), source)
    return Document(meta, text, hashlib.sha256(f"\n{text}".encode()).hexdigest())


def answer_body(answer: Answer) -> str:
    """The answer's own words: "" when it abstained, without citation markers or the extractive intro."""
    if answer.abstained:
        return ""
    text = answer.text
    if answer.mode == "extractive":
        text = text.removeprefix(INTRO[answer.lang])
    return CITATION_MARKER.sub("", text).strip()


def _new_pipeline(
    settings: Settings,
    docs: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    generator: Generator | None,
    previous: Pipeline | None,
    progress: bool,
) -> Pipeline:
    """A pipeline over ``docs``, indexed in ``index_dir``; reuses ``previous``'s models, closes its index."""
    settings = replace(settings, index_dir=index_dir)
    prefixes = (settings.query_prefix, settings.passage_prefix)
    encoder2 = previous.encoder2 if previous is not None else None
    if previous is None and settings.encoder2_weight > 0:
        encoder2 = load_encoder2(settings.encoder2)
    build_index(
        docs, embedder, index_dir, chunk_params(settings), prefixes, progress=progress, encoder2=encoder2
    )
    if previous is None:
        return Pipeline.load(settings, embedder, generator, encoder2)
    store = IndexStore.load(index_dir, target_manifest(embedder, chunk_params(settings), prefixes))
    previous.store.close()
    shutil.rmtree(previous.settings.index_dir, ignore_errors=True)
    return replace(previous, settings=settings, store=store)


# --------------------------------------------------------------------------- XQuAD


@dataclass(frozen=True)
class XquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    paragraph: int  # position of its paragraph in the file, counted across articles
    article: int = 0  # position of its article in the file


@dataclass(frozen=True)
class XquadFile:
    path: Path
    lang: str
    paragraphs: tuple[str, ...]
    questions: tuple[XquadQuestion, ...]


def load_xquad(path: Path) -> XquadFile:
    """Read a file in SQuAD 1.1 / XQuAD format: {"data": [{"paragraphs": [{"context", "qas"}]}]}."""
    expected = (
        'SQuAD/XQuAD JSON: {"data": [{"paragraphs": [{"context": str, '
        '"qas": [{"id", "question", "answers"}]}]}]}'
    )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QuestionSetError(f"cannot read {path}: {exc}. Expected {expected}") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise QuestionSetError(f"{path}: expected {expected}, found no 'data' list")
    paragraphs: list[str] = []
    questions: list[XquadQuestion] = []
    for a, article in enumerate(articles):
        for p, par in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            if not isinstance(par, dict) or not isinstance(par.get("context"), str):
                raise QuestionSetError(f"{where}: expected an object with a 'context' string")
            for i, qa in enumerate(par.get("qas", [])):
                try:
                    answers = tuple(x["text"] for x in qa["answers"])
                    q = XquadQuestion(str(qa["id"]), qa["question"], answers, len(paragraphs), a)
                    questions.append(q)
                except (KeyError, TypeError):
                    raise QuestionSetError(
                        f"{where}.qas[{i}]: expected {{'id', 'question', 'answers': [{{'text'}}]}}"
                    ) from None
            paragraphs.append(par["context"])
    if not paragraphs:
        raise QuestionSetError(f"{path}: no paragraphs found; expected {expected}")
    lang = detect_lang(" ".join(paragraphs[:20]))
    return XquadFile(Path(path), lang, tuple(paragraphs), tuple(questions))


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation (lower case, no punctuation or English articles), then tokens:
    each Han character is one token, other runs split at spaces.

    >>> squad_tokens("The Panthers' defense: 308 points!"), squad_tokens("黑豹队丢了 308分。")
    (['panthers', 'defense', '308', 'points'], ['黑', '豹', '队', '丢', '了', '308', '分'])
    """
    t = unicodedata.normalize("NFKC", text).lower()
    t = "".join(ch for ch in t if unicodedata.category(ch)[0] not in "PS")
    t = re.sub(r"\b(a|an|the)\b", " ", t)
    return re.findall(rf"[{HAN}]|[^\s{HAN}]+", t)


def squad_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of SQuAD.

    >>> squad_f1("At Levi's Stadium", "Levi's Stadium"), round(squad_f1("在李维斯体育场", "李维斯体育场"), 4)
    (0.8, 0.9231)
    """
    pred, ref = squad_tokens(prediction), squad_tokens(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def run_xquad(
    passages_path: Path,
    questions_path: Path,
    settings: Settings,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    limit: int | None = None,
    progress: bool = True,
    articles: tuple[int, int] | None = None,
) -> dict:
    """Index the paragraphs of ``passages_path``, ask the first ``limit`` questions of ``questions_path``.

    ``articles=(a, b)`` asks only the questions of articles a..b-1 (0-based, file order), e.g. to
    tune on one half and confirm on the other; every paragraph is indexed all the same."""
    from tqdm import tqdm

    passages, asked = load_xquad(passages_path), load_xquad(questions_path)
    position = {q.id: q.paragraph for q in passages.questions}
    questions = asked.questions
    if articles:
        questions = tuple(q for q in questions if articles[0] <= q.article < articles[1])
    questions = questions[:limit] if limit else questions
    gold = [position.get(q.id, q.paragraph) for q in questions]
    if any(g >= len(passages.paragraphs) for g in gold):
        raise QuestionSetError(
            f"{questions_path} has questions beyond the {len(passages.paragraphs)} "
            f"paragraphs of {passages_path}: the files are not parallel"
        )
    docs = [_document(f"p{n}", text, passages.path.name) for n, text in enumerate(passages.paragraphs)]
    k = settings.top_k
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    records, timings = [], []
    with tempfile.TemporaryDirectory(prefix="rag-xquad-") as tmp:
        pipeline = _new_pipeline(settings, docs, Path(tmp) / "index", embedder, generator, None, progress)
        for q, g in tqdm(
            list(zip(questions, gold, strict=True)), desc="xquad", unit="question", disable=not progress
        ):
            answer = pipeline.ask(q.question, k=k)
            # second search for hit@5 and MRR, as in rag.bench.evaluation.run
            hits = pipeline.retriever.search(q.question, max(k, *HIT_KS)).hits
            body = answer_body(answer)
            timings.append(answer.timings)
            records.append({
                "id": q.id, "question": q.question, "answers": list(q.answers), "paragraph": f"p{g}",
                "answer": answer.text, "mode": answer.mode, "abstained": answer.abstained,
                "hit_rank": first_hit_rank(hits, [f"p{g}"]), "retrieved": [h.chunk.doc_id for h in hits],
                "f1": round(max(squad_f1(body, a) for a in q.answers), 4),
                "exact_match": max(squad_tokens(body) == squad_tokens(a) for a in q.answers),
                "contains": bool(body) and contains_answers(body, q.answers),
                "language_match": _language_match(answer, asked.lang),
                "citations": [c.doc_id for c in answer.citations],
                "cited_texts": [c.text for c in answer.citations],
                "unverified_figures": list(answer.unverified_figures), "notices": list(answer.notices),
                "timings": answer.timings.to_json(),
            })  # fmt: skip
        pipeline.store.close()
    return {
        "benchmark": "xquad",
        "pair": f"{asked.lang}→{passages.lang}",
        "n": len(records),
        "n_paragraphs": len(docs),
        "retrieval": retrieval_metrics([r["hit_rank"] for r in records]),
        "answer": {
            "f1": _mean(r["f1"] for r in records),
            "exact_match": share(r["exact_match"] for r in records),
            "contains": share(r["contains"] for r in records),
        },
        "abstained": share(r["abstained"] for r in records),
        "language_match": share(r["language_match"] for r in records if r["language_match"] is not None),
        "latency_ms": latency_summary(timings),
        "run": {
            "mode": _modes(records),
            "k": k,
            "passages_file": str(passages_path),
            "questions_file": str(questions_path),
            "limit": limit,
            "articles": f"{articles[0]}:{articles[1]}" if articles else "all",
        },
        "questions": records,
    }


def _language_match(answer: Answer, lang: str) -> bool | None:
    found = answer_language(answer.text)
    return None if found is None else found == lang


def _mean(values) -> float | None:
    v = list(values)
    return round(sum(v) / len(v), 4) if v else None


def _modes(records: Sequence[dict]) -> str:
    return "+".join(sorted({r["mode"] for r in records})) or "-"


# --------------------------------------------------------------------------- RGB


@dataclass(frozen=True)
class RgbItem:
    id: str
    query: str
    answer: tuple[tuple[str, ...], ...]  # required parts, each a tuple of alternatives
    positive: tuple[tuple[str, ...], ...]  # groups of passages: one group, or one per part (zh_int)
    negative: tuple[str, ...]


def load_rgb(path: Path) -> list[RgbItem]:
    """Read an RGB file: JSON Lines {"id", "query", "answer", "positive", "negative"}."""
    expected = (
        '{"id", "query", "answer": [str or [alternatives]], "positive": [str] or [[str]], "negative": [str]}'
    )
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read {path}: {exc}. Expected JSON Lines {expected}") from exc
    items = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            parts = tuple(tuple(a) if isinstance(a, list) else (a,) for a in obj["answer"])
            pos = obj["positive"]
            groups = tuple(tuple(g) for g in pos) if pos and isinstance(pos[0], list) else (tuple(pos),)
            positive = tuple(tuple(p for p in g if p.strip()) for g in groups)
            item = RgbItem(
                str(obj["id"]), obj["query"], parts, positive, tuple(p for p in obj["negative"] if p.strip())
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QuestionSetError(
                f"{path}, line {n}: expected {expected} ({type(exc).__name__}: {exc})"
            ) from None
        if not item.query.strip() or not parts or not all(isinstance(a, str) and a for p in parts for a in p):
            raise QuestionSetError(f"{path}, line {n}: expected a non-empty 'query' and 'answer' strings")
        items.append(item)
    if not items:
        raise QuestionSetError(f"{path} holds no queries; expected JSON Lines {expected}")
    return items


def rgb_context(item: RgbItem, passages: int, noise_rate: float, seed: int = 0) -> list[tuple[str, bool]]:
    """The ``passages`` (text, is_positive) shown for one query, in shuffled order.

    ceil(passages × noise_rate) are negatives and the rest positives, as in RGB's reference
    code (for 5 passages and rates 0.2, 0.4, 0.6, 0.8, 1.0 this is the exact product). Rate 1.0
    means negatives only; below it a shortage of one kind is filled with the other. Positives
    are taken in turn from each group (zh_int: one per answer part first). Sampling is seeded
    by ``seed`` and the query id, so a run is repeatable.
    """
    rng = random.Random(f"{seed}/{item.id}")
    groups = [rng.sample(g, len(g)) for g in item.positive]
    positives = [g[i] for i in range(max(map(len, groups), default=0)) for g in groups if i < len(g)]
    negatives = rng.sample(item.negative, len(item.negative))
    n_neg = min(passages, math.ceil(round(passages * noise_rate, 6)))
    if noise_rate < 1:
        n_neg = max(min(n_neg, len(negatives)), passages - len(positives))
    chosen = [(p, True) for p in positives[: passages - n_neg]] + [(p, False) for p in negatives[:n_neg]]
    rng.shuffle(chosen)
    return chosen


def rgb_correct(text: str, parts: Sequence[Sequence[str]]) -> bool:
    """Every part of the answer appears (any of its alternatives), as RGB's ``checkanswer``.

    >>> rgb_correct("特斯拉131万辆，比亚迪186.35万辆", [["1313851", "131万"], ["187万", "186.35万"]])
    True
    >>> rgb_correct("特斯拉131万辆", [["1313851", "131万"], ["187万", "186.35万"]])
    False
    """
    hay = normalize(text)
    return bool(parts) and all(any(normalize(a) in hay for a in alternatives) for alternatives in parts)


def run_rgb(
    path: Path,
    settings: Settings,
    noise_rate: float = 0.4,
    passages: int = 5,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    skip: int = 0,
) -> dict:
    """Ask every query (the first ``limit`` after the first ``skip``) over its own ``passages``
    passages at ``noise_rate``."""
    from tqdm import tqdm

    if not 0 <= noise_rate <= 1 or passages < 1:
        raise QuestionSetError(
            f"expected a noise rate in [0, 1] and at least 1 passage, found {noise_rate} and {passages}"
        )
    items = load_rgb(path)[skip:]
    items = items[:limit] if limit else items
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    settings = replace(settings, top_k=passages)
    records, timings = [], []
    with tempfile.TemporaryDirectory(prefix="rag-rgb-") as tmp:
        pipeline = None
        bar = tqdm(items, desc=f"rgb {Path(path).name}", unit="query", disable=not progress)
        for i, item in enumerate(bar):
            context = rgb_context(item, passages, noise_rate, seed)
            docs = [
                _document(f"{'pos' if positive else 'neg'}{j}", text, Path(path).name)
                for j, (text, positive) in enumerate(context)
            ]
            folder = Path(tmp) / f"q{i}"
            pipeline = _new_pipeline(settings, docs, folder, embedder, generator, pipeline, False)
            answer = pipeline.ask(item.query, k=passages)
            timings.append(answer.timings)
            records.append({
                "id": item.id, "query": item.query, "answer_parts": [list(p) for p in item.answer],
                "context": [d.doc_id for d in docs], "answer": answer.text, "mode": answer.mode,
                "abstained": answer.abstained, "correct": rgb_correct(answer.text, item.answer),
                "citations": [c.doc_id for c in answer.citations],
                "cited_texts": [c.text for c in answer.citations],
                "unverified_figures": list(answer.unverified_figures), "notices": list(answer.notices),
                "timings": answer.timings.to_json(),
            })  # fmt: skip
        if pipeline is not None:
            pipeline.store.close()
    cited = [c.startswith("pos") for r in records if not r["abstained"] for c in r["citations"]]
    return {
        "benchmark": "rgb",
        "data": Path(path).name,
        "noise_rate": noise_rate,
        "passages": passages,
        "n": len(records),
        "accuracy": share(r["correct"] for r in records),
        "rejection_rate": share(r["abstained"] for r in records) if noise_rate >= 1 else None,
        "abstained": share(r["abstained"] for r in records),
        "citation_precision": share(cited) if noise_rate < 1 else None,
        "latency_ms": latency_summary(timings),
        "run": {
            "mode": _modes(records),
            "k": passages,
            "seed": seed,
            "data_file": str(path),
            "limit": limit,
            "skip": skip,
        },
        "questions": records,
    }
