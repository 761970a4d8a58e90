"""The installable package and the entry points: a wheel built from the sources holds every module
and data file of ``rag/``; installed into a fresh virtualenv, its ``rag`` command builds, answers
and evaluates from any directory, its folders taken from the environment or the current directory;
``python app.py`` takes the flags of ``rag serve`` and refuses others.

The virtualenv is made without network: the wheel is installed with ``--no-index --no-deps``, and
the dependencies already installed for the tests are added by a ``.pth`` file naming their
site-packages folders. (A ``--system-site-packages`` virtualenv would see the base interpreter's
packages, not this virtualenv's.) The folders a ``.pth`` file names join ``sys.path`` without their
own ``.pth`` files being run, so an editable install of the checkout there is not seen: the tests
check that ``rag`` is imported from the virtualenv.

The index is built by the installed ``rag build`` with a tiny sentence-transformers model made here
(random weights, 32 dimensions, a vocabulary of the fixture's characters): these tests check the
wiring, not the answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from rag.config import Settings
from tests.conftest import FIXTURE_DOCS

pytestmark = pytest.mark.process  # these tests build a wheel and run it in a fresh virtualenv

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "深圳2020年建成多少5G基站？"


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} exited with {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without the project's settings, the import path or the shared virtualenv."""
    drop = ("RAG_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "HOME": str(home), **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (a build writes into the tree it builds)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "rag", src / "rag", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "-w",
            str(base / "dist"),
            str(src),
        ],
        cwd=base,
    )
    (built,) = (base / "dist").glob("rag_news-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed and the tests' dependencies visible."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(where)], cwd=where.parent)
    python = where / "bin" / "python"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        cwd=where.parent,
    )
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=where.parent
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "dependencies.pth").write_text("".join(f"{p}\n" for p in ours), "utf-8")
    return where


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A sentence-transformers folder with random weights: a real model's files, a toy's size."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizer

    base = tmp_path_factory.mktemp("tiny")
    chars = sorted({c for d in FIXTURE_DOCS for c in d.text.lower() if not c.isspace()} | set(QUESTION))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars if c.isascii())]
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(base / "bert")
    BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(base / "bert")
    bert = Transformer(str(base / "bert"), max_seq_length=512)
    model = SentenceTransformer(modules=[bert, Pooling(32, "mean")], device="cpu")
    model.save(str(base / "tiny-st"))
    return base / "tiny-st"


def test_the_wheel_holds_every_module_and_data_file(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "rag").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"rag/prompts/system_zh.txt", "rag/web/app.py"} <= sources
    assert sorted(sources - names) == []  # prompts and sub-packages included
    assert {n.split("/")[0] for n in names} == {"rag", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    (entry_points,) = (n for n in names if n.endswith("entry_points.txt"))
    assert "rag = rag.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_command_is_the_wheel_and_runs_from_any_directory(venv: Path, tmp_path: Path):
    env = clean_env(tmp_path)
    where = run([str(venv / "bin" / "python"), "-c", "import rag; print(rag.__file__)"], tmp_path, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    r = run([str(venv / "bin" / "rag"), "--help"], tmp_path, env)
    assert r.stdout.startswith("usage: rag ")
    for command in ("serve", "ask", "build", "eval"):
        assert command in r.stdout


def test_the_installed_command_builds_answers_and_evaluates(venv: Path, tiny_model: Path, tmp_path: Path):
    rag = str(venv / "bin" / "rag")
    project, elsewhere, home = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "home"
    for folder in (project / "data" / "articles", elsewhere, home):
        folder.mkdir(parents=True)
    for d in FIXTURE_DOCS:
        text = f"---\ntitle: {d.meta.title}\n---\n{d.text}"
        (project / "data" / "articles" / f"{d.doc_id}.txt").write_text(text, "utf-8")
    env = clean_env(home, RAG_EMBEDDER=str(tiny_model))

    # the defaults: data/articles and index in the current directory
    r = run([rag, "build", "--quiet"], project, env)
    assert "4 documents" in r.stdout and (project / "index" / "current").exists()

    # from another directory, the index named by RAG_INDEX
    env["RAG_INDEX"] = str(project / "index")
    r = run([rag, "ask", "--no-llm", "--json", QUESTION], elsewhere, env)
    answer = json.loads(r.stdout)
    cited = {c["doc_id"] for c in answer["citations"]}
    assert cited and cited <= {d.doc_id for d in FIXTURE_DOCS}, answer

    questions = elsewhere / "questions.jsonl"
    line = {"id": "q1", "lang": "zh", "question": QUESTION, "answers": ["4.6万"], "sources": ["zh_5g"]}
    questions.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    r = run([rag, "eval", "--no-llm", "--json", "out.json", "questions.jsonl"], elsewhere, env)
    assert len(json.loads((elsewhere / "out.json").read_text("utf-8"))["questions"]) == 1, r.stdout
    assert not (elsewhere / "index").exists() and not (home / ".local").exists()


# --------------------------------------------------------------------------- settings


def test_folders_are_relative_to_the_current_directory_and_models_default_to_the_user_data_folder(
    tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    env = {"HOME": str(tmp_path / "home")}
    s = Settings.from_env(env)
    assert (s.corpus_dir, s.index_dir) == (Path("data/articles"), Path("index"))
    assert s.models_dir == tmp_path / "home" / ".local" / "share" / "rag-news" / "models"
    xdg = Settings.from_env({**env, "XDG_DATA_HOME": "/srv/data"})
    assert xdg.models_dir == Path("/srv/data/rag-news/models")
    (tmp_path / "models").mkdir()  # a checkout's own models
    assert Settings.from_env(env).models_dir == Path("models")
    assert Settings().models_dir == Path("models")
    moved = Settings.from_env({**env, "RAG_CORPUS": "a", "RAG_INDEX": "/b", "RAG_MODELS": "c"})
    assert (moved.corpus_dir, moved.index_dir, moved.models_dir) == (Path("a"), Path("/b"), Path("c"))


def test_no_module_looks_for_files_where_the_package_is_installed():
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "rag").rglob("*.py"))
        for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
        if "__file__" in line
    ]
    assert found == []  # package data is read with importlib.resources (rag.models.generator.prompt_text)


def test_bench_scale_without_its_sample_says_what_to_pass(tmp_path: Path, capsys):
    from rag.__main__ import main

    assert main(["bench", "scale", "--articles", "10", "--source", str(tmp_path / "none.txt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bench scale replicates a CRUD-format news file;") and "--source FILE" in err


# --------------------------------------------------------------------------- app.py


def test_app_py_takes_the_flags_of_rag_serve(tmp_path: Path):
    env = clean_env(tmp_path)
    r = run([sys.executable, str(ROOT / "app.py"), "--help"], tmp_path, env, timeout=60)
    for flag in ("--host", "--port", "--no-llm", "--corpus", "--index"):
        assert flag in r.stdout, r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--port", "eighty"], "argument --port: invalid int value: 'eighty'"),
    ],
)
def test_app_py_refuses_what_rag_serve_does_not_take(tmp_path: Path, args: list[str], message: str):
    env = clean_env(tmp_path)
    r = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert message in r.stderr and "usage:" in r.stderr and "Traceback" not in r.stderr
