"""The articles tab's actions: list the indexed articles, add uploaded files, delete one.

``add_articles(paths, pipeline)`` and ``delete_article(doc_id, pipeline)`` change the shared
corpus folder (``rag.ingest.corpus``: checked, re-indexed under a lock) and then swap the new
index into the shared pipeline (``Pipeline.reload``) for everyone; each returns a Markdown
report for the page. The table and the delete dropdown are drawn from ``corpus.DocInfo``.

Does not check that an upload came from Gradio's cache (``rag.web.guards``, in ``rag.web.events``)
nor lay out the tab (``rag.web.layout``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from rag.answer.pipeline import Pipeline
from rag.ingest import corpus
from rag.web.render import LANG_NAMES

TABLE_HEADERS = ["编号 · ID", "标题 · Title", "日期 · Date", "语言 · Language", "段落 · Chunks"]
Progress = Callable[..., object]  # gr.Progress: progress(fraction, desc=...)


def articles_table(docs: Sequence[corpus.DocInfo]) -> list[list]:
    return [[d.doc_id, d.title, d.date or "—", LANG_NAMES[d.lang], d.chunks] for d in docs]


def article_choices(docs: Sequence[corpus.DocInfo]) -> list[tuple[str, str]]:
    return [(f"{d.title[:60]} ({d.doc_id})", d.doc_id) for d in docs]


def add_report_markdown(report: corpus.AddReport) -> str:
    lines = []
    if report.added:
        lines.append("**已添加 · Added** — 现在可以提问了 · you can ask about them now")
        lines += [
            f"- {html.escape(d.title)} · `{d.doc_id}` · {d.date or '—'} · {LANG_NAMES[d.lang]} · "
            f"{d.chunks} 段 chunks"
            for d in report.added
        ]
    if report.rejected:
        lines.append("**未添加 · Not added**")
        lines += [f"- `{html.escape(name)}`: {html.escape(reason)}" for name, reason in report.rejected]
    if report.build is not None:
        b = report.build
        lines.append(
            f"\n索引 · Index: {b.n_docs} 篇 articles, {b.n_chunks} 段 chunks "
            f"(embedded {b.embedded}, {b.seconds:.1f} s)"
        )
    return "\n".join(lines)


def _embedding_progress(progress: Progress | None) -> Callable[[int, int], None]:
    """``on_progress(done, total)`` of a build, shown through Gradio's ``progress`` (if any)."""

    def on_progress(done: int, total: int) -> None:
        if progress is None:
            return
        if done < total:
            progress(done / total, desc=f"嵌入段落 · Embedding passages {done}/{total}")
        else:  # what follows (second encoder, keyword index, writing) reports no steps
            progress(1.0, desc="完成索引 · Finishing the index…")

    return on_progress


def add_articles(paths: Sequence[str], pipeline: Pipeline, progress: Progress | None = None) -> str:
    """Add uploaded files to the shared corpus, re-index, swap the pipeline's store."""
    if not paths:
        return "请先选择文件。 · Choose one or more files first."
    if progress is not None:
        progress(0, desc="读取文件 · Reading the files…")
    report = corpus.add_files(
        pipeline.settings,
        paths,
        embedder=pipeline.embedder,
        encoder2=pipeline.encoder2,
        on_progress=_embedding_progress(progress),
    )
    if report.build is not None:
        pipeline.reload()
    return add_report_markdown(report)


def delete_article(doc_id: str, pipeline: Pipeline) -> str:
    if not doc_id:
        return "请先选择文章。 · Choose an article first."
    report = corpus.remove_doc(
        pipeline.settings, doc_id, embedder=pipeline.embedder, encoder2=pipeline.encoder2
    )
    pipeline.reload()
    return (
        f"已删除 · Deleted `{html.escape(doc_id)}` ({html.escape(', '.join(report.files))}). "
        f"索引 · Index: {report.build.n_docs} 篇 articles, {report.build.n_chunks} 段 chunks."
    )
