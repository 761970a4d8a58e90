"""Article file formats: bytes -> text in a known encoding, YAML front matter split off, the kind sniffed.

    decode_bytes(data)                       -> text      UTF-8 (with or without BOM; a few damaged bytes
                                                          dropped), UTF-16 with BOM, GB18030/GBK, or what
                                                          charset-normalizer finds; ValueError for binary
    split_front_matter(text)                 -> (fields, body, problem)
    sniff_kind(body, suffix, front_matter)   -> "html" | "markdown" | "text", for ``cleaning.clean``

Pure functions of bytes and text: do not open files (``loaders``), read PDFs (``loaders`` with pypdf),
or find titles and dates (``docmeta``).
"""

from __future__ import annotations

import re
from typing import Any

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _plausible(text: str) -> bool:
    """Decoded text, not binary: almost every character printable."""
    sample = text[:100_000]
    return sum(not (c.isprintable() or c in "\n\r\t") for c in sample) <= len(sample) // 100


def decode_bytes(data: bytes) -> str:
    """Text of a file's bytes; ValueError saying why when they are binary or in no known encoding.

    >>> decode_bytes("深圳".encode("gbk")), decode_bytes(b"\\xef\\xbb\\xbfCity")
    ('深圳', 'City')
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as e:
                raise ValueError(f"starts with a {encoding} byte-order mark but is not {encoding}") from e
    if b"\x00" in data:
        raise ValueError("looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", "replace")  # UTF-8 with a few damaged bytes: drop them
    if lenient.count("\ufffd") <= len(lenient) // 200 and re.search(r"[^\x00-\x7f\ufffd]", lenient):
        return lenient.replace("\ufffd", "")
    try:
        text = data.decode("gb18030")
        if _plausible(text):
            return text
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # imported here: most files never need it

    match = charset_normalizer.from_bytes(data).best()
    if match is not None and _plausible(str(match)):
        return str(match)
    raise ValueError("is not text in a known encoding (tried UTF-8, GB18030/GBK and detection)")


_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str]:
    """(fields, body, problem). Fields have lower-case keys; invalid YAML falls back to reading
    ``key: value`` lines one by one and says so in ``problem``.

    >>> split_front_matter('---\\ntitle: "深圳"\\nfrom: https://x.cn/a\\n---\\n<p>正文</p>')
    ({'title': '深圳', 'from': 'https://x.cn/a'}, '<p>正文</p>', '')
    >>> split_front_matter("---\\ntitle: [深圳\\n---\\n正文")[0::2]
    ({'title': '[深圳'}, 'front matter is not valid YAML; read its key: value lines one by one')
    """
    match = _FRONT_MATTER.match(text[:65536])
    if not match:
        return {}, text, ""
    block, body = match.group(1), text[match.end() :]
    import yaml  # imported here: a build that reads nothing again needs none of it

    try:
        fields = yaml.safe_load(block)
        if isinstance(fields, dict):
            return {str(k).lower(): v for k, v in fields.items()}, body, ""
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        pass  # e.g. an unclosed bracket, or "date: 2021-13-45" (PyYAML raises ValueError)
    fields = {}
    for line in block.split("\n"):
        kv = re.match(r"\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", line)
        if kv and kv.group(2):
            fields[kv.group(1).lower()] = kv.group(2).strip("\"'")
    if not fields:  # "---" rules around prose, not front matter
        return {}, text, ""
    return fields, body, "front matter is not valid YAML; read its key: value lines one by one"


_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|body|div|p|br|span|section|article|table|h[1-6]|li)\b", re.I
)
_MARKDOWN = re.compile(r"^#{1,6}\s+\S|\[[^\]\n]+\]\([^)\s]+\)|^\s*[-*]\s+\S.*\n\s*[-*]\s+\S", re.M)


def sniff_kind(body: str, suffix: str, has_front_matter: bool = False) -> str:
    """The kind of a body for ``clean``: HTML tags win, then .md / front matter / Markdown syntax.

    >>> [sniff_kind(body, ".txt") for body in ("<div><p>正文</p></div>", "# 标题\\n正文", "正文")]
    ['html', 'markdown', 'text']
    """
    if len(_HTML_TAG.findall(body[:50000])) >= 2:
        return "html"
    if suffix in (".md", ".markdown") or has_front_matter or _MARKDOWN.search(body[:50000]):
        return "markdown"
    return "text"
