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
readable line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from rag.config import Settings, set_offline
from rag.errors import RagError

# The CRUD news sample beside a checkout (public benchmark data, not part of the package).
CRUD_SAMPLE = "../shared/benchmarks/crud-news/news_1_1.txt"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "collection", None):
        overrides["collection"] = Path(args.collection)
    if getattr(args, "vector_store", None):
        overrides["vector_store"] = args.vector_store
    if getattr(args, "no_llm", False):
        overrides["use_llm"] = False
    if getattr(args, "k", None):
        overrides["top_k"] = args.k
    if getattr(args, "lang", None):
        overrides["answer_lang"] = args.lang
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings.from_env(**overrides)


def cmd_prepare(args: argparse.Namespace) -> int:
    from rag.models.prepare import prepare_models

    prepare_models(_settings(args), force=args.force)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from rag.index.sync import build
    from rag.ingest.corpus import recover

    settings = _settings(args)
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

    settings = _settings(args)
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

    settings = _settings(args)
    report = remove_doc(settings, args.doc_id, progress=not args.quiet)
    print(
        f"removed {report.doc_id} ({', '.join(report.files)}); index {settings.index_dir}: "
        f"{report.build.n_docs} documents, {report.build.n_chunks} chunks"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rag.ingest.corpus import list_docs

    docs = list_docs(_settings(args))
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
    from rag.answer.question import check_question

    check_question(args.question)  # an unusable question is refused before the models load
    settings = _settings(args)
    pipeline = Pipeline.load(settings)
    if args.json:
        answer = pipeline.ask(args.question)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    printed, answer = "", None
    for answer in pipeline.stream(args.question):
        if answer.text.startswith(printed):  # the text grows as it is written
            print(answer.text[len(printed) :], end="", flush=True)
            printed = answer.text
    assert answer is not None
    if answer.text != printed:  # replaced: withdrawn by the checks, or rewritten in the question's language
        print(("\n\n" if printed else "") + answer.text, end="")
    print()
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


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web import main as serve

    serve(_settings(args))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.bench.evaluation import load_question_set, open_pipeline, run, summarise
    from rag.bench.report import save_json, summary_tables, write_report

    questions = load_question_set(Path(args.questions), args.limit)  # checked before any model loads
    settings = _settings(args)
    pipeline = open_pipeline(settings, build_corpus=bool(args.corpus))
    results = run(questions, pipeline)
    result = summarise(
        results,
        k=settings.top_k,
        questions_file=args.questions,
        format=questions.format,
        index=str(settings.index_dir),
        embedder=pipeline.store.manifest.embedder_id,
        limit=args.limit,
    )
    print(summary_tables(result))
    if args.json:
        save_json(result, Path(args.json))
        print(f"wrote {args.json}", file=sys.stderr)
    if args.report:
        for path in write_report(result, Path(args.report), f"Evaluation: {Path(args.questions).name}"):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _span(text: str | None) -> tuple[int, int] | None:
    """``"0:12"`` -> (0, 12)."""
    if not text:
        return None
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise RagError(f"--articles expects A:B, e.g. 0:12; found {text!r}") from None
    return a, b


def cmd_bench(args: argparse.Namespace) -> int:
    from rag.bench import benchmarks
    from rag.bench.report import bench_table, save_json

    settings = _settings(args)
    if args.benchmark == "xquad":
        result = benchmarks.run_xquad(
            Path(args.passages),
            Path(args.questions),
            settings,
            limit=args.limit,
            articles=_span(args.articles),
        )
    else:
        result = benchmarks.run_rgb(
            Path(args.data), settings, args.noise_rate, args.passages, limit=args.limit, skip=args.skip
        )
    print(bench_table(result))
    if args.json:
        save_json(result, Path(args.json))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    from rag.bench import scale

    if not Path(args.source).is_file():
        raise RagError(
            f"bench scale replicates a CRUD-format news file; {args.source} is not a file. "
            "Pass one with --source FILE"
        )
    settings = _settings(args)
    if args.exact_max:
        settings = replace(settings, exact_search_max=args.exact_max)
    result = scale.run(
        settings,
        args.articles,
        Path(args.source),
        embedder=args.embedder,
        encoder2=args.encoder2,
        queries=args.queries,
        workdir=Path(args.workdir) if args.workdir else None,
    )
    print(scale.table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    from rag.bench import speed

    settings = _settings(args)
    speed.main(
        replace(settings, use_llm=True),
        Path(args.questions),
        args.n,
        args.repeats,
        Path(args.json) if args.json else None,
        with_llm=not args.no_llm,
    )
    return 0


def parser() -> argparse.ArgumentParser:
    prog = "rag" if Path(sys.argv[0]).name == "rag" else "python -m rag"  # the installed command, or not
    p = argparse.ArgumentParser(prog=prog, description="Bilingual news question answering.")
    sub = p.add_subparsers(dest="command", required=True)

    def paths(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--corpus", help="folder of articles (default RAG_CORPUS, else data/articles)")
        sp.add_argument("--index", help="index folder (default RAG_INDEX, else index)")

    sp = sub.add_parser("prepare", help="prepare the bundled models in the models folder (RAG_MODELS)")
    sp.add_argument("--force", action="store_true", help="rebuild even if present")
    sp.set_defaults(func=cmd_prepare)

    sp = sub.add_parser("build", help="index the corpus (incremental)")
    paths(sp)
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
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_build)

    sp = sub.add_parser("add", help="add article files to the corpus and index them")
    sp.add_argument("files", nargs="+", help=".txt, .md, .html or .pdf files")
    paths(sp)
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_add)

    sp = sub.add_parser("remove", help="delete one article from the corpus and re-index")
    sp.add_argument("doc_id", help="document id (file name without extension; see `list`)")
    paths(sp)
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_remove)

    sp = sub.add_parser("list", help="list the indexed articles")
    paths(sp)
    sp.add_argument("--json", action="store_true", help="print the list as JSON")
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    paths(sp)
    sp.add_argument("--json", action="store_true", help="print the answer as JSON")
    sp.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answer, no generator")
    sp.add_argument("--lang", choices=["auto", "zh", "en"], help="answer language (default auto)")
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("serve", help="start the chat UI")
    paths(sp)
    sp.add_argument("--host", help="address to bind (default 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default 7860)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answers only")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("eval", help="run a question set (eval/README.md) and score it")
    sp.add_argument("questions", help="question set, JSON Lines (single questions or dialogues)")
    paths(sp)
    sp.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answers, no generator")
    sp.add_argument("--json", metavar="OUT", help="write the metrics and per-question records as JSON")
    sp.add_argument("--report", metavar="DIR", help="write report.md and report.png into DIR")
    sp.add_argument("--limit", type=int, help="only the first N lines of the question set")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("bench", help="public benchmarks (XQuAD, RGB)")
    bench = sp.add_subparsers(dest="benchmark", required=True)
    bp = bench.add_parser("xquad", help="cross-lingual retrieval and answers on XQuAD-format files")
    bp.add_argument("--passages", required=True, help="XQuAD file whose paragraphs are indexed")
    bp.add_argument("--questions", required=True, help="parallel XQuAD file whose questions are asked")
    bp.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    bp.add_argument("--no-llm", action="store_true", help="extractive answers, no generator")
    bp.add_argument(
        "--articles",
        metavar="A:B",
        help="ask only the questions of articles A..B-1 (0-based); "
        "all paragraphs are indexed (e.g. 0:12 to tune, 12:24 to confirm)",
    )
    bp = bench.add_parser("rgb", help="RGB noise robustness and rejection")
    bp.add_argument("--data", required=True, help="RGB JSON Lines file (e.g. zh_refine.dev.jsonl)")
    bp.add_argument("--noise-rate", type=float, default=0.4, help="share of negative passages (default 0.4)")
    bp.add_argument("--passages", type=int, default=5, help="passages per query (default 5)")
    bp.add_argument("--no-llm", action="store_true", help="extractive answers, no generator")
    bp.add_argument(
        "--skip",
        type=int,
        default=0,
        help="leave out the first N questions (a tuning slice apart from the reported one)",
    )
    for bp in bench.choices.values():
        bp.add_argument("--limit", type=int, help="only the first N questions")
        bp.add_argument("--json", metavar="OUT", help="write the metrics and per-question records as JSON")
        bp.set_defaults(func=cmd_bench)
    bp = bench.add_parser(
        "scale",
        help="build, search and update an index of N articles (the CRUD sample, "
        "replicated and shuffled) in a temporary folder",
    )
    bp.add_argument("--articles", type=int, required=True, help="articles to index (e.g. 2000, up to 60000)")
    bp.add_argument(
        "--source",
        default=CRUD_SAMPLE,
        help=f"CRUD-format file to replicate (default {CRUD_SAMPLE}, relative to the current directory)",
    )
    bp.add_argument(
        "--embedder",
        choices=["e5", "hash"],
        default="e5",
        help="e5 (the real model) or hash (a fast deterministic stand-in: measures the index, not the model)",
    )
    bp.add_argument("--encoder2", action="store_true", help="also store the second encoder's vectors")
    bp.add_argument("--vector-store", choices=["faiss", "milvus"], help="vector store (default faiss)")
    bp.add_argument("--exact-max", type=int, help="exact search up to this many vectors (default 20000)")
    bp.add_argument("--queries", type=int, default=100, help="questions timed (default 100)")
    bp.add_argument("--workdir", help="build here and keep it (default: a temporary folder, removed)")
    bp.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    bp.set_defaults(func=cmd_scale)
    bp = bench.add_parser("speed", help="this project's fast paths against a naive baseline, in one run")
    paths(bp)
    bp.add_argument("--questions", default="eval/seed.jsonl", help="question set for the latency runs")
    bp.add_argument("--n", type=int, default=10, help="questions timed (default 10)")
    bp.add_argument(
        "--repeats", type=int, default=3, help="runs per measurement; medians reported (default 3)"
    )
    bp.add_argument("--no-llm", action="store_true", help="skip the generation measurements")
    bp.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    bp.set_defaults(func=cmd_speed)
    return p


def main(argv: list[str] | None = None) -> int:
    set_offline()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
