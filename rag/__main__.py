"""Command line: ``python -m rag <command>``.

    prepare   build the bundled models into the models folder (once; skipped when present)
    build     index the corpus folder (incremental; atomic swap)
    add       add article files to the corpus and index them
    remove    delete one article (by document id) and re-index
    list      the indexed articles: id, date, language, chunks, title
    ask       answer one question (``--json`` for the machine-readable Answer)
    serve     start the chat UI (127.0.0.1:7860 unless told otherwise)
    eval      run a question set (see eval/README.md)
    bench     public benchmarks, speed and scale measurements

Each command parses its arguments, calls the library and turns a ``RagError`` into one
readable line on stderr and exit status 1. The library is imported inside each command, so a
command loads only what it uses; ``eval`` and ``bench`` live in ``rag.bench.cli``, which is not
even imported for the other commands.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings, set_offline
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.answer.pipeline import Pipeline
    from rag.types import Answer

MEASURING = ("eval", "bench")  # subcommands defined by rag.bench.cli
Subcommands = argparse._SubParsersAction  # what ``add_subparsers`` returns

# argparse dest -> Settings field, for the flags a command has; paths become Path
SETTINGS_FLAGS = {
    "corpus": "corpus_dir",
    "index": "index_dir",
    "collection": "collection",
    "vector_store": "vector_store",
    "k": "top_k",
    "lang": "answer_lang",
    "host": "host",
    "port": "port",
}
PATH_FLAGS = ("corpus", "index", "collection")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The environment's settings (``Settings.from_env``) with the flags the user gave on top."""
    overrides: dict[str, object] = {}
    for flag, field in SETTINGS_FLAGS.items():
        value = getattr(args, flag, None)
        if value:
            overrides[field] = Path(value) if flag in PATH_FLAGS else value
    if getattr(args, "no_llm", False):
        overrides["use_llm"] = False
    return Settings.from_env(None, **overrides)


# --------------------------------------------------------------------------- commands


def cmd_prepare(args: argparse.Namespace) -> int:
    from rag.models.prepare import prepare_models

    prepare_models(settings_from_args(args), force=args.force)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from rag.index.sync import build
    from rag.ingest.corpus import recover

    settings = settings_from_args(args)
    if not settings.collection:
        recover(settings, progress=not args.quiet)  # an add or remove killed part-way: finish it first
    r = build(settings, progress=not args.quiet)
    b = r.build
    for name, reason in r.load.skipped:
        print(f"warning: skipped {name}: {reason}", file=sys.stderr)
    if r.skipped_count:
        print(
            f"warning: skipped {r.skipped_count} malformed or repeated lines of {settings.collection}; "
            "the first:",
            file=sys.stderr,
        )
        for line in r.skipped_lines[:5]:
            print(f"  {line}", file=sys.stderr)
    state = "up to date" if b.up_to_date else f"embedded {b.embedded} chunks, reused {b.reused}"
    print(
        f"index {settings.index_dir}: {b.n_docs} documents, {b.n_chunks} chunks ({state}; "
        f"changed {len(b.changed_docs)}, removed {len(b.removed_docs)}) in {b.seconds:.1f}s"
    )
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from rag.ingest.corpus import add_files

    settings = settings_from_args(args)
    report = add_files(settings, args.files, progress=not args.quiet)
    for d in report.added:
        print(
            f"added {d.source} as {d.doc_id}: {d.title} ({d.date or 'no date'}, {d.lang}, {d.chunks} chunks)"
        )
    for name, reason in report.rejected:
        print(f"error: not added {name}: {reason}", file=sys.stderr)
    if report.build is not None:
        print(f"index {settings.index_dir}: {report.build.n_docs} documents, {report.build.n_chunks} chunks")
    return 1 if report.rejected else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.ingest.corpus import remove_doc

    settings = settings_from_args(args)
    report = remove_doc(settings, args.doc_id, progress=not args.quiet)
    print(
        f"removed {report.doc_id} ({', '.join(report.files)}); index {settings.index_dir}: "
        f"{report.build.n_docs} documents, {report.build.n_chunks} chunks"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rag.ingest.corpus import list_docs

    docs = list_docs(settings_from_args(args))
    if args.json:
        print(json.dumps([d.to_json() for d in docs], ensure_ascii=False, indent=2))
        return 0
    width = max((len(d.doc_id) for d in docs), default=6)
    print(f"{'doc_id':<{width}}  {'date':<10}  lang  chunks  title")
    for d in docs:
        print(f"{d.doc_id:<{width}}  {d.date or '-':<10}  {d.lang:<4}  {d.chunks:>6}  {d.title}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer.pipeline import Pipeline
    from rag.answer.question.check import check_question

    check_question(args.question)  # an unusable question is refused before the models load
    settings = settings_from_args(args)
    pipeline = Pipeline.load(settings)
    if args.json:
        answer = pipeline.ask(args.question)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    answer = _print_streamed(pipeline, args.question)
    for c in answer.citations:
        print(f"[{c.n}] {c.title} ({c.date}) {c.url}  <{c.chunk_id} {c.start}-{c.end}>")
    for notice in answer.notices:
        print(f"note: {notice}", file=sys.stderr)
    t = answer.timings
    print(
        f"({t.retrieve_ms:.0f} ms retrieval, first token {t.first_token_ms:.0f} ms, "
        f"total {t.total_ms:.0f} ms, prompt {t.prompt_tokens} tokens)",
        file=sys.stderr,
    )
    return 0


def _print_streamed(pipeline: Pipeline, question: str) -> Answer:
    """Print the answer as it is written, then the final text if it was replaced; returns the final answer."""
    printed, answer = "", None
    for answer in pipeline.stream(question):
        if answer.text.startswith(printed):  # the text grows as it is written
            print(answer.text[len(printed) :], end="", flush=True)
            printed = answer.text
    assert answer is not None
    if answer.text != printed:  # replaced: withdrawn by the checks, or rewritten in the question's language
        print(("\n\n" if printed else "") + answer.text, end="")
    print()
    return answer


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web import main as serve

    serve(settings_from_args(args))
    return 0


# --------------------------------------------------------------------------- arguments


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's arguments. ``eval`` and ``bench`` are always listed, but their own arguments come
    from ``rag.bench.cli``, imported only when ``command`` (the first word of the command line) is one
    of them, or None for the whole parser: ``rag ask`` and ``rag build`` do not import the measuring code."""
    prog = "rag" if Path(sys.argv[0]).name == "rag" else "python -m rag"  # the installed command, or not
    p = argparse.ArgumentParser(prog=prog, description="Bilingual news question answering.")
    sub = p.add_subparsers(dest="command", required=True)
    for define in (_prepare, _build, _add, _remove, _list, _ask, _serve):
        define(sub)
    eval_ = sub.add_parser("eval", help="run a question set (eval/README.md) and score it")
    bench = sub.add_parser("bench", help="public benchmarks (XQuAD, RGB)")
    if command is None or command in MEASURING:
        from rag.bench import cli

        cli.define_eval(eval_, settings_from_args)
        cli.define_bench(bench, settings_from_args)
    return p


def _paths(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--corpus", help="folder of articles (default RAG_CORPUS, else data/articles)")
    sp.add_argument("--index", help="index folder (default RAG_INDEX, else index)")


def _quiet(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


def _prepare(sub: Subcommands) -> None:
    sp = sub.add_parser("prepare", help="prepare the bundled models in the models folder (RAG_MODELS)")
    sp.add_argument("--force", action="store_true", help="rebuild even if present")
    sp.set_defaults(func=cmd_prepare)


def _build(sub: Subcommands) -> None:
    sp = sub.add_parser("build", help="index the corpus (incremental)")
    _paths(sp)
    sp.add_argument(
        "--collection",
        metavar="FILE",
        help="index this collection file instead of the corpus "
        'folder: .txt with one article a line ("[ date ] ，正文：text") or .jsonl '
        "(title/date/url/text); RAG_COLLECTION",
    )
    sp.add_argument(
        "--vector-store",
        choices=["faiss", "milvus"],
        help="vector store (default faiss; "
        "milvus uses RAG_MILVUS_URI, default milvus.db in the index folder)",
    )
    _quiet(sp)
    sp.set_defaults(func=cmd_build)


def _add(sub: Subcommands) -> None:
    sp = sub.add_parser("add", help="add article files to the corpus and index them")
    sp.add_argument("files", nargs="+", help=".txt, .md, .html or .pdf files")
    _paths(sp)
    _quiet(sp)
    sp.set_defaults(func=cmd_add)


def _remove(sub: Subcommands) -> None:
    sp = sub.add_parser("remove", help="delete one article from the corpus and re-index")
    sp.add_argument("doc_id", help="document id (file name without extension; see `list`)")
    _paths(sp)
    _quiet(sp)
    sp.set_defaults(func=cmd_remove)


def _list(sub: Subcommands) -> None:
    sp = sub.add_parser("list", help="list the indexed articles")
    _paths(sp)
    sp.add_argument("--json", action="store_true", help="print the list as JSON")
    sp.set_defaults(func=cmd_list)


def _ask(sub: Subcommands) -> None:
    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    _paths(sp)
    sp.add_argument("--json", action="store_true", help="print the answer as JSON")
    sp.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answer, no generator")
    sp.add_argument("--lang", choices=["auto", "zh", "en"], help="answer language (default auto)")
    sp.set_defaults(func=cmd_ask)


def _serve(sub: Subcommands) -> None:
    sp = sub.add_parser("serve", help="start the chat UI")
    _paths(sp)
    sp.add_argument("--host", help="address to bind (default 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default 7860)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answers only")
    sp.set_defaults(func=cmd_serve)


def main(argv: list[str] | None = None) -> int:
    set_offline()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    args = parser(argv[0] if argv else None).parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
