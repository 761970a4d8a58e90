"""What the chat server lets in: files, and requests without the log-in.

- **Files.** ``UploadsOnlyBlocks`` is the app's ``gr.Blocks``: before Gradio reads any file
  input of any event, each file must be one uploaded to this server (``/gradio_api/upload``),
  whose real path lies in Gradio's upload cache; a path on the server, a URL, a ``..`` path or
  a symlink pointing out of the cache is refused, naming the file.
- **The log-in.** ``LoginGate`` is an ASGI middleware for Gradio's app: when a log-in is set,
  every request needs it except the log-in page, what the page needs to render and the
  start-up check Gradio's ``launch()`` makes (``OPEN_ROUTES``). Routes under ``OWN_AUTH`` check
  their own credentials (an API key) and are passed through. Gradio renders the log-in form at
  ``/``; the gate strips the API description Gradio embeds in that page.

It does not check API arguments (``rag.web.arguments`` does), the log-in itself (Gradio's
``/login`` does, and keeps the session tokens the gate reads), nor the files' contents or types
(``rag.ingest.corpus`` does).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from gradio_client import utils as client_utils
from starlette.requests import HTTPConnection, Request
from starlette.types import Message, Send

from rag.web.arguments import describe

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
    files = [f for f in items if isinstance(f, dict) and client_utils.is_file_obj_with_meta(f)]
    if len(files) == len(items) and all(isinstance(f["path"], str) for f in files):
        return files
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
    try:
        real = None if client_utils.is_http_url_like(path) else Path(path).resolve()
    except (OSError, RuntimeError, ValueError):  # a NUL byte, a symlink loop
        real = None
    if (
        real is None
        or not real.is_relative_to(root)
        or real.is_dir()
        or (uploaded is not None and path not in uploaded)
    ):
        raise ValueError(
            f"{json.dumps(path, ensure_ascii=False)} is not a file uploaded to this server: only "
            'uploaded files are accepted. Upload it first (gradio_client: handle_file("article.md")); '
            "nothing was added."
        )
    return real


def _file_inputs(block_fn, inputs: list) -> Iterator[tuple[gr.File | gr.UploadButton, object]]:
    for i, (block, value) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
        if i in getattr(block_fn, "component_prop_inputs", ()) and isinstance(value, dict):
            value = value.get("value")
        if isinstance(block, (gr.File, gr.UploadButton)):
            yield block, value


class UploadsOnlyBlocks(gr.Blocks):
    """``gr.Blocks`` whose file inputs take only files uploaded to this server.

    The check runs before Gradio's own handling of the inputs (which copies any file it accepts
    into the cache, so a handler cannot tell an upload from a copy afterwards). It overrides
    ``preprocess_data``, a step inside Gradio (as of the pinned 6.31), so a Gradio upgrade must
    keep tests/test_security.py passing.
    """

    async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
        for block, value in _file_inputs(block_fn, inputs or []):
            label = getattr(block, "label", None) or "this endpoint"
            try:
                for f in file_objects(value, block_fn.api_name or label):
                    uploaded_file(f["path"], self.GRADIO_CACHE, self.upload_file_set)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
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
        return path[len(root) :] or "/"
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
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _logged_in(server, scope) -> bool:
    """True when ``server`` (Gradio's app) has no log-in, or the request carries a valid session."""
    auth, dependency = getattr(server, "auth", None), getattr(server, "auth_dependency", None)
    if auth is None and dependency is None:
        return server is not None
    if dependency is not None:
        if scope["type"] != "http":
            return False
        user = dependency(Request(scope))
        return (await user if inspect.isawaitable(user) else user) is not None
    cookies = HTTPConnection(scope).cookies
    token = cookies.get(f"access-token-{server.cookie_id}") or cookies.get(
        f"access-token-unsecure-{server.cookie_id}"
    )
    return server.tokens.get(token) is not None


def _without_api_info(send: Send) -> Send:
    """``send`` for the log-in page: the API description Gradio embeds in it is left out."""
    start: dict = {}
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
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
