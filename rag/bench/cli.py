"""The measuring subcommands of ``python -m rag``: ``eval`` and ``bench`` (xquad, rgb, scale, speed).

``define_eval`` and ``define_bench`` add their arguments to the parsers ``rag.__main__`` made
(it imports this module only when one of them is asked for). Each command checks what it can
cheaply, then builds the settings with ``settings`` (the CLI's flags-to-``Settings`` function,
``rag.__main__.settings_from_args``), calls the library (imported inside the command, so a run
pays only for what it uses) and prints its table. Does not measure or score anything itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from rag.config import Settings
from rag.errors import RagError

SettingsOf = Callable[[argparse.Namespace], Settings]
Subcommands = argparse._SubParsersAction  # what ``add_subparsers`` returns

# The CRUD news sample beside a checkout (public benchmark data, not part of the package).
CRUD_SAMPLE = "../shared/benchmarks/crud-news/news_1_1.txt"


# --------------------------------------------------------------------------- eval


def define_eval(sp: argparse.ArgumentParser, settings: SettingsOf) -> None:
    sp.add_argument("questions", help="question set, JSON Lines (single questions or dialogues)")
    _paths(sp)
    sp.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    sp.add_argument("--no-llm", action="store_true", help="extractive answers, no generator")
    sp.add_argument("--json", metavar="OUT", help="write the metrics and per-question records as JSON")
    sp.add_argument("--report", metavar="DIR", help="write report.md and report.png into DIR")
    sp.add_argument("--limit", type=int, help="only the first N lines of the question set")
    sp.set_defaults(func=partial(cmd_eval, settings_of=settings))


def cmd_eval(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from rag.bench import evaluation
    from rag.bench.questions import load_question_set
    from rag.bench.report import save_json, summary_tables, write_report

    questions = load_question_set(Path(args.questions), args.limit)  # checked before any model loads
    settings = settings_of(args)
    pipeline = evaluation.open_pipeline(settings, build_corpus=bool(args.corpus))
    results = evaluation.run(questions, pipeline)
    result = evaluation.summarise(
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


# --------------------------------------------------------------------------- bench


def define_bench(sp: argparse.ArgumentParser, settings: SettingsOf) -> None:
    bench = sp.add_subparsers(dest="benchmark", required=True)
    _xquad(bench)
    _rgb(bench)
    for bp in bench.choices.values():
        bp.add_argument("--limit", type=int, help="only the first N questions")
        bp.add_argument("--json", metavar="OUT", help="write the metrics and per-question records as JSON")
        bp.set_defaults(func=partial(cmd_benchmark, settings_of=settings))
    _scale(bench).set_defaults(func=partial(cmd_scale, settings_of=settings))
    _speed(bench).set_defaults(func=partial(cmd_speed, settings_of=settings))


def _paths(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--corpus", help="folder of articles (default RAG_CORPUS, else data/articles)")
    sp.add_argument("--index", help="index folder (default RAG_INDEX, else index)")


def _xquad(bench: Subcommands) -> None:
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


def _rgb(bench: Subcommands) -> None:
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


def _scale(bench: Subcommands) -> argparse.ArgumentParser:
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
    return bp


def _speed(bench: Subcommands) -> argparse.ArgumentParser:
    bp = bench.add_parser("speed", help="this project's fast paths against a naive baseline, in one run")
    _paths(bp)
    bp.add_argument("--questions", default="eval/seed.jsonl", help="question set for the latency runs")
    bp.add_argument("--n", type=int, default=10, help="questions timed (default 10)")
    bp.add_argument(
        "--repeats", type=int, default=3, help="runs per measurement; medians reported (default 3)"
    )
    bp.add_argument("--no-llm", action="store_true", help="skip the generation measurements")
    bp.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    return bp


def _span(text: str | None) -> tuple[int, int] | None:
    """``"0:12"`` -> (0, 12)."""
    if not text:
        return None
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise RagError(f"--articles expects A:B, e.g. 0:12; found {text!r}") from None
    return a, b


def cmd_benchmark(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    """``bench xquad`` and ``bench rgb``."""
    from rag.bench.report import bench_table, save_json

    settings = settings_of(args)
    if args.benchmark == "xquad":
        from rag.bench.xquad import run_xquad

        result = run_xquad(
            Path(args.passages),
            Path(args.questions),
            settings,
            limit=args.limit,
            articles=_span(args.articles),
        )
    else:
        from rag.bench.rgb import run_rgb

        result = run_rgb(
            Path(args.data), settings, args.noise_rate, args.passages, limit=args.limit, skip=args.skip
        )
    print(bench_table(result))
    if args.json:
        save_json(result, Path(args.json))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_scale(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from rag.bench import scale

    if not Path(args.source).is_file():
        raise RagError(
            f"bench scale replicates a CRUD-format news file; {args.source} is not a file. "
            "Pass one with --source FILE"
        )
    settings = settings_of(args)
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


def cmd_speed(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from rag.bench import speed

    settings = settings_of(args)
    speed.main(
        replace(settings, use_llm=True),
        Path(args.questions),
        args.n,
        args.repeats,
        Path(args.json) if args.json else None,
        with_llm=not args.no_llm,
    )
    return 0
