"""One settings object, with a comment on every default.

Settings are built once (``Settings.from_env()`` or the CLI) and passed in; no module reads
globals.  Environment variables, all optional:

    RAG_CORPUS   folder of articles                  (default: data/articles)
    RAG_INDEX    folder of the built index           (default: index)
    RAG_MODELS   folder of prepared models           (default: models)
    RAG_HOST     chat UI address                     (default: 127.0.0.1)
    RAG_PORT     chat UI port                        (default: 7860)
    RAG_LANG     answer language: auto, zh or en     (default: auto)
    RAG_NO_LLM   1 = extractive answers, no generator (default: 0)
    RAG_EMBEDDER a sentence-transformers folder or hub id to use instead of the bundled e5
    RAG_GGUF     a GGUF file to use instead of the bundled Qwen model
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Nothing may reach a model hub at run time; users with hub access can unset these.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def set_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    # --- locations -------------------------------------------------------------------
    corpus_dir: Path = ROOT / "data" / "articles"  # the articles shipped with the project
    index_dir: Path = ROOT / "index"  # built index (generated, git-ignored)
    models_dir: Path = ROOT / "models"  # prepared models (generated, git-ignored)

    # --- ingestion -------------------------------------------------------------------
    max_file_bytes: int = 20_000_000  # larger files are skipped with a warning

    # --- embedding -------------------------------------------------------------------
    embedder: str = ""  # "" = the bundled multilingual-e5-small folder in models_dir
    query_prefix: str = "query: "  # e5 prompts; part of the index manifest
    passage_prefix: str = "passage: "
    embed_dtype: str = "auto"  # auto = bfloat16 where the CPU has AMX/AVX512-BF16, else float32
    embed_batch_size: int = 32  # passages per forward pass (sorted by length first)

    # --- chunking (in embedding-model tokens, never above the model's 512) -----------
    chunk_tokens: int = 240  # target passage length
    chunk_overlap_tokens: int = 40  # tokens of the previous passage repeated at the start
    chunk_max_tokens: int = 400  # hard cap; a single longer sentence is split

    # --- retrieval -------------------------------------------------------------------
    top_k: int = 5  # passages retrieved and shown
    prompt_passages: int = 3  # passages put into the generator's prompt
    prompt_chars: int = 600  # character budget of all passages (~0.7 Qwen tokens per Chinese char)
    min_score: float = 0.72  # below this dense cosine the passages are unrelated: abstain at once

    # --- generation ------------------------------------------------------------------
    use_llm: bool = True  # False = extractive answers only
    gguf: str = ""  # "" = the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M in models_dir
    n_ctx: int = 2048  # context window of the generator
    n_threads: int = 0  # 0 = all cores
    max_new_tokens: int = 256  # answer length cap
    answer_lang: str = "auto"  # auto | zh | en

    # --- chat UI ---------------------------------------------------------------------
    host: str = "127.0.0.1"  # never a public address unless asked
    port: int = 7860

    @property
    def embedder_path(self) -> str:
        return self.embedder or str(self.models_dir / "multilingual-e5-small")

    @property
    def gguf_path(self) -> Path:
        return Path(self.gguf) if self.gguf else self.models_dir / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        changes: dict[str, object] = {}
        if env.get("RAG_CORPUS"):
            changes["corpus_dir"] = Path(env["RAG_CORPUS"])
        if env.get("RAG_INDEX"):
            changes["index_dir"] = Path(env["RAG_INDEX"])
        if env.get("RAG_MODELS"):
            changes["models_dir"] = Path(env["RAG_MODELS"])
        if env.get("RAG_HOST"):
            changes["host"] = env["RAG_HOST"]
        if env.get("RAG_PORT"):
            changes["port"] = int(env["RAG_PORT"])
        if env.get("RAG_LANG"):
            changes["answer_lang"] = env["RAG_LANG"]
        if env.get("RAG_NO_LLM") in ("1", "true", "yes"):
            changes["use_llm"] = False
        if env.get("RAG_EMBEDDER"):
            changes["embedder"] = env["RAG_EMBEDDER"]
        if env.get("RAG_GGUF"):
            changes["gguf"] = env["RAG_GGUF"]
        changes.update({k: v for k, v in overrides.items() if v is not None})
        return replace(s, **changes)
