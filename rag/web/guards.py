"""What the chat server lets in: API arguments, files, and requests without the log-in.

- **API arguments.** ``answer_args`` and ``doc_id_arg`` check what a client sent to the named
  endpoints and raise ``ValueError`` saying what was expected, what was found and what to send
  (the app turns it into ``gr.Error``, which clients see as ``AppError``).
- **Files.** ``UploadsOnlyBlocks`` is the app's ``gr.Blocks``: before Gradio reads any file
  input of any event, each file must be one uploaded to this server (``/gradio_api/upload``),
  whose real path lies in Gradio's upload cache; a path on the server, a URL, a ``..`` path or
  a symlink pointing out of the cache is refused, naming the file.
- **The log-in.** ``LoginGate`` is an ASGI middleware for Gradio's app: when a log-in is set,
  every request needs it except the log-in page and what the page needs to render
  (``OPEN_ROUTES``). Routes under ``OWN_AUTH`` check their own credentials (an API key) and are
  passed through. Gradio renders the log-in form at ``/``; the gate strips the API description
  Gradio embeds in that page.

It does not check the log-in itself (Gradio's ``/login`` does and keeps the session tokens the
gate reads), nor the files' contents or types (``rag.corpus`` does).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio_client import utils as client_utils
from starlette.requests import HTTPConnection, Request

MAX_K = 20  # passages an API call may ask for (the UI slider stops at 10)
LANGS = ("auto", "zh", "en")

# --------------------------------------------------------------------------- API arguments


def describe(value: object) -> str:
    """``value`` as a client sent it, in JSON terms, shortened.

    >>> [describe(v) for v in (None, True, 12345, 2.5, "fr")]
    ['null', 'true', 'the number 12345', 'the number 2.5', 'the text "fr"']
    >>> describe(["a", 1]), describe({"x": 1})
    ('a list ["a", 1]', 'an object {"x": 1}')
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return "the text " + json.dumps(value if len(value) <= 60 else value[:60] + "…", ensure_ascii=False)
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:
        text = repr(value)
    kind = "a list" if isinstance(value, (list, tuple)) else "an object"
    return f"{kind} {text if len(text) <= 80 else text[:80] + '…'}"


def question_arg(value: object) -> str:
    """The question, which must be text (emptiness is the pipeline's to judge).

    >>> question_arg("深圳5G基站？")
    '深圳5G基站？'
    >>> question_arg(12345)
    Traceback (most recent call last):
    ValueError: question must be text; found the number 12345. Send the question as a string, e.g. ...
    """
    if isinstance(value, str):
        return value
    raise ValueError(
        f"question must be text; found {describe(value)}. "
        'Send the question as a string, e.g. "深圳2020年建成了多少5G基站？".'
    )


def history_arg(value: object) -> list[tuple[str, str]]:
    """Earlier turns: a list of [question, answer] pairs of text; null is a new conversation.

    >>> history_arg([["深圳5G基站？", "4.6万个[1]。"]])
    [('深圳5G基站？', '4.6万个[1]。')]
    >>> history_arg("ab")
    Traceback (most recent call last):
    ValueError: history must be a list of [question, answer] pairs, ...; found the text "ab". Send [] ...
    """
    if value is None:
        return []
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in value
    )
    if not ok:
        raise ValueError(
            "history must be a list of [question, answer] pairs, oldest first; "
            f"found {describe(value)}. Send [] for a new conversation."
        )
    return [(q, a) for q, a in value]  # type: ignore[union-attr]


def lang_arg(value: object) -> str:
    """The answer language: "auto" (the question's), "zh" or "en"; null is "auto".

    >>> lang_arg("ZH"), lang_arg(None)
    ('zh', 'auto')
    >>> lang_arg("fr")
    Traceback (most recent call last):
    ValueError: lang must be "auto", "zh" or "en"; found the text "fr". Send "auto" to answer in ...
    """
    if value is None:
        return "auto"
    if isinstance(value, str) and value.strip().lower() in LANGS:
        return value.strip().lower()
    raise ValueError(
        f'lang must be "auto", "zh" or "en"; found {describe(value)}. '
        "Send \"auto\" to answer in the question's language."
    )


def k_arg(value: object, default: int) -> int:
    """Passages to retrieve: a whole number from 1 to ``MAX_K``; null is ``default``.

    >>> k_arg(3, 5), k_arg(4.0, 5), k_arg(None, 5)
    (3, 4, 5)
    >>> k_arg("abc", 5)
    Traceback (most recent call last):
    ValueError: k must be a whole number of passages from 1 to 20; found the text "abc". Send a number ...
    """
    if value is None:
        return default
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if whole and not isinstance(value, bool) and 1 <= value <= MAX_K:  # type: ignore[operator]
        return int(value)  # type: ignore[arg-type]
    raise ValueError(
        f"k must be a whole number of passages from 1 to {MAX_K}; found {describe(value)}. "
        f"Send a number such as {default} (the default)."
    )


def flag_arg(value: object, name: str, default: bool) -> bool:
    """A yes/no argument: true or false (or the text "true"/"false"); null is ``default``.

    >>> flag_arg(False, "use_llm", True), flag_arg("TRUE", "use_llm", False), flag_arg(None, "use_llm", True)
    (False, True, True)
    >>> flag_arg("no", "use_llm", True)
    Traceback (most recent call last):
    ValueError: use_llm must be true or false; found the text "no". Send false to quote the passages, ...
    """
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(
        f"{name} must be true or false; found {describe(value)}. "
        "Send false to quote the passages, true to generate."
    )


def doc_id_arg(value: object) -> str:
    """An article's id, as ``/articles`` lists it.

    >>> doc_id_arg(" zh_5g ")
    'zh_5g'
    >>> doc_id_arg("")
    Traceback (most recent call last):
    ValueError: doc_id must be the id of an article, as /articles lists it (...); found the text "". ...
    """
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(
        'doc_id must be the id of an article, as /articles lists it (e.g. "zh_5g"); '
        f"found {describe(value)}. Send one of those ids."
    )


@dataclass(frozen=True)
class AnswerArgs:
    question: str
    history: list[tuple[str, str]]
    lang: str
    k: int
    use_llm: bool


def answer_args(question: object, history: object, lang: object, k: object, use_llm: object,
                default_k: int = 5, default_llm: bool = True) -> AnswerArgs:
    """The ``/answer`` endpoint's arguments checked; ``ValueError`` on the first bad one.

    >>> answer_args("深圳？", None, "en", 3, "false")
    AnswerArgs(question='深圳？', history=[], lang='en', k=3, use_llm=False)
    """
    return AnswerArgs(question_arg(question), history_arg(history), lang_arg(lang), k_arg(k, default_k),
                      flag_arg(use_llm, "use_llm", default_llm))


# --------------------------------------------------------------------------- files


def file_objects(value: object, label: str) -> list[dict]:
    """The files of a file input: null, one file object or a list of them; ``ValueError`` otherwise.

    >>> file_objects(None, "files")
    []
    >>> file_objects(["/etc/passwd"], "files")
    Traceback (most recent call last):
    ValueError: files takes a list of uploaded files (...); found a list ["/etc/passwd"].
    """
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if all(client_utils.is_file_obj_with_meta(f) and isinstance(f["path"], str) for f in items):
        return items  # type: ignore[return-value]
    raise ValueError(
        f'{label} takes a list of uploaded files (gradio_client: [handle_file("article.md")]); '
        f"found {describe(value)}."
    )


def uploaded_file(path: str, cache: str | Path, uploaded: set[str] | None = None) -> Path:
    """The real path of ``path`` if it is a file uploaded to this server: in the upload ``cache``
    once symlinks and ``..`` are resolved, and (when given) one of the ``uploaded`` paths.

    >>> uploaded_file("/etc/passwd", "/tmp/gradio")
    Traceback (most recent call last):
    ValueError: "/etc/passwd" is not a file uploaded to this server: only uploaded files are accepted. ...
    """
    root = Path(cache).resolve()
    real = None if client_utils.is_http_url_like(path) else Path(path).resolve()
    if real is None or not real.is_relative_to(root) or real == root or not real.is_file() or (
        uploaded is not None and path not in uploaded
    ):
        raise ValueError(
            f"{json.dumps(path, ensure_ascii=False)} is not a file uploaded to this server: only "
            'uploaded files are accepted. Upload it first (gradio_client: handle_file("article.md")); '
            "nothing was added."
        )
    return real


def _file_inputs(block_fn, inputs: list) -> Iterator[tuple[gr.File, object]]:
    for i, (block, value) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
        if i in getattr(block_fn, "component_prop_inputs", ()) and isinstance(value, dict):
            value = value.get("value")
        if isinstance(block, (gr.File, gr.UploadButton)):
            yield block, value


class UploadsOnlyBlocks(gr.Blocks):
    """``gr.Blocks`` whose file inputs take only files uploaded to this server.

    The check runs before Gradio's own handling of the inputs (which copies any file it accepts
    into the cache, so a handler cannot tell an upload from a copy afterwards).
    """

    async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
        for block, value in _file_inputs(block_fn, inputs or []):
            label = getattr(block, "label", None) or "this endpoint"
            try:
                for f in file_objects(value, block_fn.api_name or label):
                    uploaded_file(f["path"], self.GRADIO_CACHE, self.upload_file_set)
            except ValueError as exc:
                raise gr.Error(str(exc)) from None
        return await super().preprocess_data(block_fn, inputs, state, explicit_call)


# --------------------------------------------------------------------------- the log-in

# (methods, path) a visitor without the log-in may reach: the log-in page and what it loads
OPEN_ROUTES = (
    (("GET", "HEAD"), "/"),  # Gradio serves the log-in form here until one logs in
    (("POST",), "/login"),  # the form's target
    (("POST",), "/login/"),
    (("GET", "HEAD"), "/assets/*"),  # the page's scripts and styles (Gradio's package files)
    (("GET", "HEAD"), "/static/*"),  # its fonts, images and iframe script (Gradio's package files)
    (("GET", "HEAD"), "/theme.css"),
    (("GET", "HEAD"), "/gradio_api/theme.css"),
    (("GET", "HEAD"), "/favicon.ico"),
    (("GET",), "/gradio_api/startup-events"),  # launch() calls it to see the server up; says true/false
)
OWN_AUTH = ("/v1/",)  # OpenAI-compatible routes: they check their own API key


def is_open(method: str, path: str) -> bool:
    """Whether a request may go through without the log-in (``/x/*``: anything under ``/x/``).

    >>> [is_open(m, p) for m, p in [("GET", "/"), ("POST", "/login"), ("GET", "/assets/index.js"),
    ...                              ("GET", "/openapi.json"), ("POST", "/gradio_api/cancel"), ("POST", "/")]]
    [True, True, True, False, False, False]
    """
    for methods, route in OPEN_ROUTES:
        folder = route.endswith("/*")
        if method in methods and (path.startswith(route[:-1]) if folder else path == route):
            return True
    return False


def route_path(scope: dict) -> str:
    """The request's path as the router matches it (without the app's ``root_path``).

    >>> route_path({"path": "/news/config", "root_path": "/news"}), route_path({"path": "/config"})
    ('/config', '/config')
    """
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root):] or "/"
    return path


_API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)
_NO_API_INFO = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


class LoginGate:
    """ASGI middleware: with a log-in set, answers 401 to any request without it but ``OPEN_ROUTES``.

    Reads Gradio's own session (``app.auth``, ``app.tokens``, the ``access-token`` cookies), so
    logging in stays Gradio's ``/login``. Pass it to Gradio's app as ``app_kwargs={"middleware":
    [Middleware(LoginGate)]}``.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        server = scope.get("app")
        if scope["type"] not in ("http", "websocket") or await _logged_in(server, scope):
            return await self.app(scope, receive, send)
        path, method = route_path(scope), scope.get("method", "GET")
        if path.startswith(OWN_AUTH):
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and is_open(method, path):
            page = path == "/" and method == "GET"
            return await self.app(scope, receive, _without_api_info(send) if page else send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        hint = "Log in first: the form at /, or POST /login with username and password."
        body = json.dumps({"detail": {"error": "Not authenticated", "auth_message": hint}}).encode()
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


async def _logged_in(server, scope) -> bool:
    """True when ``server`` (Gradio's app) has no log-in, or the request carries a valid session."""
    auth, dependency = getattr(server, "auth", None), getattr(server, "auth_dependency", None)
    if auth is None and dependency is None:
        return server is not None
    if dependency is not None:
        user = dependency(Request(scope))
        return (await user if inspect.isawaitable(user) else user) is not None
    cookies = HTTPConnection(scope).cookies
    token = cookies.get(f"access-token-{server.cookie_id}") or cookies.get(
        f"access-token-unsecure-{server.cookie_id}"
    )
    return server.tokens.get(token) is not None


def _without_api_info(send):
    """``send`` for the log-in page: the API description Gradio embeds in it is left out."""
    start: dict = {}
    chunks: list[bytes] = []

    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = _API_INFO.sub(lambda _: _NO_API_INFO, b"".join(chunks), count=1)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return wrapped
