"""Tests of rag.ingest.loaders: encodings, formats sniffed from content, metadata, errors, the corpus walk,
and the five real seed articles."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import CorpusError
from rag.ingest import docmeta, formats
from rag.ingest.docmeta import byline_date, guess_title, normalize_date
from rag.ingest.formats import decode_bytes, split_front_matter
from rag.ingest.loaders import SUPPORTED_SUFFIXES, LoadReport, load_corpus, load_file

SEEDS = Path(__file__).resolve().parents[1] / "data" / "articles"
LIMIT = 1_000_000
ARTICLE = "深圳2020年规上工业总产值3.7万亿元，居中国大中城市首位。Shenzhen built 46,600 5G base stations 📶。"


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines``: a Type0 font whose codes are the characters' code points,
    with a ToUnicode map so text extraction works without an embedded font (BMP characters only)."""
    chars = sorted({c for line in lines for c in line})
    shows = " ".join(f"<{''.join(f'{ord(c):04X}' for c in line)}> Tj T*" for line in lines)
    content = f"BT /F1 12 Tf 50 800 Td 14 TL {shows} ET"
    blocks = [chars[i : i + 100] for i in range(0, len(chars), 100)]
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        + "".join(
            f"{len(b)} beginbfchar\n" + "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in b) + "endbfchar\n"
            for b in blocks
        )
        + "endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        "/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        f"<< /Length {len(content.encode())} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        f"<< /Length {len(cmap.encode())} >>\nstream\n{cmap}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings(tmp_path: Path, encoding: str):
    article = ARTICLE.replace(" 📶", "") if encoding == "gbk" else ARTICLE  # GBK has no emoji
    doc = load_file(write(tmp_path, "a.txt", f"深圳工业「总产值」\n\n{article}".encode(encoding)), LIMIT)
    assert doc.text == f"深圳工业「总产值」\n{article}"
    assert doc.meta.title == "深圳工业「总产值」"


def test_gb18030_beyond_gbk(tmp_path: Path):
    text = "𠀀字与€符号：深圳工业互联网发展迅速。"  # not encodable in GBK
    assert load_file(write(tmp_path, "a.txt", text.encode("gb18030")), LIMIT).text == text


def test_bom_before_front_matter(tmp_path: Path):
    doc = load_file(write(tmp_path, "a.md", "\ufeff---\ntitle: 标题\n---\n正文。".encode()), LIMIT)
    assert (doc.meta.title, doc.text) == ("标题", "正文。")


def test_a_few_damaged_utf8_bytes_are_dropped(tmp_path: Path):
    data = ARTICLE.encode() * 3 + b"\xff" + "结尾段落。".encode()
    doc = load_file(write(tmp_path, "a.txt", data), LIMIT)
    assert doc.text == ARTICLE * 3 + "结尾段落。"


def test_undecodable_bytes(tmp_path: Path):
    data = bytes(range(0x80, 0x100)) * 4  # no NUL, not UTF-8, GB18030 or anything plausible
    with pytest.raises(CorpusError, match=r"a\.txt: .*not text in a known encoding.*UTF-8"):
        load_file(write(tmp_path, "a.txt", data), LIMIT)


def test_binary_file_renamed_txt(tmp_path: Path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(64)
    with pytest.raises(CorpusError, match=r"image\.txt: looks like a binary file.*NUL.*save the article as"):
        load_file(write(tmp_path, "image.txt", png), LIMIT)


def test_decode_bytes_raises_only_value_error():
    with pytest.raises(ValueError, match="byte-order mark"):
        decode_bytes(b"\xff\xfe\x00\xd8")  # UTF-16 BOM, then a lone surrogate


@settings(max_examples=300, deadline=None)
@given(data=st.binary())
def test_decode_bytes_never_raises_anything_else(data: bytes):
    with contextlib.suppress(ValueError):
        assert isinstance(decode_bytes(data), str)


# --- formats, sniffed from content ----------------------------------------------------------------


def test_html_page(tmp_path: Path):
    html = """<!doctype html><html><head><title>深圳工业 - 新闻网</title>
      <link rel="canonical" href="https://news.example.cn/a/1.html">
      <meta property="article:published_time" content="2021-01-20T08:00:00+08:00"></head>
      <body><nav>首页 | 国内</nav><article><h1>深圳工业总产值居首</h1>
      <p>深圳2020年规上工业总产值3.7万亿元。</p><div class="share-bar">分享到微信</div>
      <p>The city built 46,600 base stations.</p></article><footer>Copyright 2021</footer></body></html>"""
    doc = load_file(write(tmp_path, "page.htm", html), LIMIT)
    assert (
        doc.text
        == "深圳工业总产值居首\n深圳2020年规上工业总产值3.7万亿元。\nThe city built 46,600 base stations."
    )
    assert (doc.meta.title, doc.meta.date, doc.meta.url) == (
        "深圳工业总产值居首",
        "2021-01-20",
        "https://news.example.cn/a/1.html",
    )


def test_html_saved_as_txt_is_sniffed(tmp_path: Path):
    doc = load_file(write(tmp_path, "a.txt", "<div><p>第一段。</p><p>第二段。</p></div>"), LIMIT)
    assert doc.text == "第一段。\n第二段。"


def test_markdown_with_front_matter_keys(tmp_path: Path):
    md = (
        "---\ntitle: 深圳 *工业*\nsource: https://www.sznews.com/1.html\ndate: 2021/01/21\n---\n"
        "# 小标题\n\n**加粗**正文。\n"
    )
    doc = load_file(write(tmp_path, "a.markdown", md), LIMIT)
    assert (doc.meta.title, doc.meta.url, doc.meta.date) == (
        "深圳 *工业*",
        "https://www.sznews.com/1.html",
        "2021-01-21",
    )
    assert doc.text == "小标题\n加粗正文。"


def test_front_matter_source_that_is_not_a_url(tmp_path: Path):
    doc = load_file(
        write(tmp_path, "a.md", "---\nsource: 新浪财经\nurl: 'https://x.cn/a'\n---\n正文。"), LIMIT
    )
    assert doc.meta.url == "https://x.cn/a"


def test_malformed_front_matter_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    md = "---\ntitle: [深圳工业\ndate: 2021-01-20T13:17:00.000Z\nfrom: https://x.cn/a\n---\n正文第一段。\n"
    with caplog.at_level(logging.WARNING, logger="rag.ingest.loaders"):
        doc = load_file(write(tmp_path, "bad.md", md), LIMIT)
    assert (doc.text, doc.meta.title, doc.meta.date, doc.meta.url) == (
        "正文第一段。",
        "[深圳工业",
        "2021-01-20",
        "https://x.cn/a",
    )
    assert "bad.md: front matter is not valid YAML" in caplog.text


def test_front_matter_with_an_impossible_date(tmp_path: Path):
    doc = load_file(write(tmp_path, "a.md", "---\ntitle: 标题\ndate: 2021-13-45\n---\n正文。"), LIMIT)
    assert (doc.meta.title, doc.meta.date, doc.text) == ("标题", "", "正文。")


def test_pdf(tmp_path: Path):
    lines = [
        "架 起 工 业 互 联 网 这 座 桥",
        "工业互联网，一头连着传统工业",
        "制造业，一头连着新一代信息技术。",
        "Shenzhen built 46,600 base stations.",
    ]
    doc = load_file(write(tmp_path, "report.pdf", make_pdf(lines)), LIMIT)
    assert doc.meta.title == "架起工业互联网这座桥"
    assert doc.text == (
        "架起工业互联网这座桥\n工业互联网，一头连着传统工业制造业，一头连着新一代信息技术。\n"
        "Shenzhen built 46,600 base stations."
    )
    assert (doc.meta.lang, doc.meta.doc_id, doc.meta.source) == ("zh", "report", "report.pdf")


def test_pdf_renamed_txt_is_read_as_pdf(tmp_path: Path):
    doc = load_file(write(tmp_path, "report.txt", make_pdf(["Shenzhen output tops Chinese cities."])), LIMIT)
    assert doc.text == "Shenzhen output tops Chinese cities."
    assert doc.meta.lang == "en"


def test_damaged_pdf(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"broken\.pdf: cannot be read as a PDF.*re-export"):
        load_file(write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj garbage"), LIMIT)


def test_pdf_without_text(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"scan\.pdf: has no extractable text.*OCR"):
        load_file(write(tmp_path, "scan.pdf", make_pdf([])), LIMIT)


# --- errors ---------------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"empty\.txt: is empty; add the article text or remove the file"):
        load_file(write(tmp_path, "empty.txt", b""), LIMIT)


def test_file_with_only_boilerplate(tmp_path: Path):
    junk = "<div class='dfp-ad'>广告</div><p class='article-editor'>责任编辑：彭佳兵</p>\n粤ICP备10228864号"
    with pytest.raises(
        CorpusError, match=r"junk\.html: has no article text after removing markup and boilerplate"
    ):
        load_file(write(tmp_path, "junk.html", junk), LIMIT)


def test_oversize_file(tmp_path: Path):
    path = write(tmp_path, "big.txt", ARTICLE * 10)
    with pytest.raises(
        CorpusError, match=r"big\.txt: is 1,\d{3} bytes, over the 100-byte limit.*max_file_bytes"
    ):
        load_file(path, 100)


def test_unsupported_type(tmp_path: Path):
    with pytest.raises(
        CorpusError, match=r"a\.docx: unsupported file type '\.docx'; convert it to one of \.txt"
    ):
        load_file(write(tmp_path, "a.docx", "PK\x03\x04"), LIMIT)


def test_missing_and_non_regular_files(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"gone\.txt: cannot be read.*check that it exists"):
        load_file(tmp_path / "gone.txt", LIMIT)
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(CorpusError, match=r"folder\.txt: is not a regular file"):
        load_file(tmp_path / "folder.txt", LIMIT)


# --- documents ------------------------------------------------------------------------------------


def test_document_identity_and_hash(tmp_path: Path):
    doc = load_file(write(tmp_path, "000_abc.txt", f"标题😀\n{ARTICLE}"), LIMIT)
    assert (doc.doc_id, doc.meta.doc_id, doc.meta.source) == ("000_abc", "000_abc", "000_abc.txt")
    assert doc.content_hash == hashlib.sha256(f"标题😀\n{doc.text}".encode()).hexdigest()
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.text = "x"  # type: ignore[misc]


def test_long_first_line_gives_a_shortened_title(tmp_path: Path):
    doc = load_file(write(tmp_path, "a.txt", ARTICLE * 2), LIMIT)
    assert doc.meta.title == "深圳2020年规上工业总产值3.7万亿元…"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-01-20T13:17:00.000Z", "2021-01-20"),
        ("Sun, 21 Nov 2021 14:10:15 GMT", "2021-11-21"),
        ("Updated: 2021-01-21", "2021-01-21"),
        ("2021年1月21日 10:00", "2021-01-21"),
        ("2021/1/5", "2021-01-05"),
        ("21 Jan 2021", "2021-01-21"),
        ("January 21, 2021", "2021-01-21"),
        (20210121, "2021-01-21"),
        ("2021-02-30", ""),
        ("", ""),
        (None, ""),
        ("昨日", ""),
    ],
)
def test_normalize_date(value: object, expected: str):
    assert normalize_date(value) == expected


def test_byline_date_only_near_the_top_and_labelled():
    assert byline_date("标题\n发布时间：2021年1月21日\n正文") == "2021-01-21"
    assert byline_date("2023年11月27日，深圳召开新闻发布会。") == ""


def test_guess_title_english():
    long = (
        "The industrial added value of enterprises at designated- and above-level scale reached 3.7 trillion."
    )
    assert (
        guess_title("City’s industrial output takes the lead\nbody")
        == "City’s industrial output takes the lead"
    )
    assert (
        guess_title(long) == "The industrial added value of enterprises at designated- and above-level scale…"
    )


def test_split_front_matter_without_front_matter():
    assert split_front_matter("--- not front matter\n正文") == ({}, "--- not front matter\n正文", "")
    ruled = "---\n第一段，不是元数据。\n---\n第二段。"  # Markdown rules around prose
    assert split_front_matter(ruled) == ({}, ruled, "")


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_metadata_functions_never_raise(text: str):
    fields, body, problem = split_front_matter(f"---\n{text}\n---\n正文")
    assert isinstance(fields, dict) and isinstance(body, str) and isinstance(problem, str)
    assert isinstance(normalize_date(text), str) and isinstance(guess_title(text), str)
    assert formats.sniff_kind(text, ".txt") in ("html", "markdown", "text")
    assert isinstance(docmeta.html_meta(text), dict)


# --- the corpus -----------------------------------------------------------------------------------


def test_load_corpus_skips_bad_files_and_keeps_order(tmp_path: Path):
    short = "深圳工业总产值3.7万亿元。"
    write(tmp_path, "b.txt", f"乙\n{short}")
    write(tmp_path, "a.md", f"---\ntitle: 甲\n---\n{short}")
    write(tmp_path, "c.txt", b"")
    write(tmp_path, "d.txt", b"\x00\x01binary")
    write(tmp_path, "e.docx", b"PK")
    write(tmp_path, "f.txt", "x" * 200)
    write(tmp_path, ".hidden.txt", short)
    write(tmp_path, "a.txt", f"另一个甲\n{short}")  # same id as a.md
    write(tmp_path, "g.txt", f"乙\n{short}")  # same title and text as b.txt
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "h.txt", short)
    report = load_corpus(tmp_path, 100)
    assert [d.doc_id for d in report.documents] == ["a", "b"]
    assert [d.meta.title for d in report.documents] == ["甲", "乙"]
    reasons = dict(report.skipped)
    assert [name for name, _ in report.skipped] == ["a.txt", "c.txt", "d.txt", "e.docx", "f.txt", "g.txt"]
    assert reasons["a.txt"] == "same document id 'a' as a.md; rename one"
    assert reasons["c.txt"] == "is empty; add the article text or remove the file"
    assert reasons["d.txt"].startswith("looks like a binary file, not text (it contains NUL bytes)")
    assert reasons["e.docx"] == "unsupported file type '.docx'"
    assert reasons["f.txt"] == (
        "is 200 bytes, over the 100-byte limit (Settings.max_file_bytes); split the file or raise the limit"
    )
    assert reasons["g.txt"] == "same title and text as b.txt"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.documents = ()  # type: ignore[misc]


def test_missing_folder(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"Corpus folder .*nope does not exist; create it and put articles"):
        load_corpus(tmp_path / "nope", LIMIT)


def test_folder_that_is_a_file(tmp_path: Path):
    with pytest.raises(CorpusError, match="is a file, not a folder"):
        load_corpus(write(tmp_path, "a.txt", ARTICLE), LIMIT)


def test_folder_without_supported_files(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"has no supported articles \(found: no files\)"):
        load_corpus(tmp_path, LIMIT)
    write(tmp_path, "notes.docx", b"PK")
    write(tmp_path, ".a.txt", ARTICLE)
    with pytest.raises(CorpusError, match=r"has no supported articles \(found: notes\.docx\)"):
        load_corpus(tmp_path, LIMIT)


def test_folder_where_nothing_loads(tmp_path: Path):
    write(tmp_path, "a.txt", b"")
    with pytest.raises(CorpusError, match=r"No article in .* could be loaded \(a\.txt: is empty"):
        load_corpus(tmp_path, LIMIT)


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
    assert LoadReport((), ()).documents == ()


# --- the real seeds -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_report() -> LoadReport:
    if not SEEDS.is_dir():
        pytest.skip("data/articles is absent")
    return load_corpus(SEEDS, 20_000_000)


def test_seed_corpus_loads_completely(seed_report: LoadReport):
    assert seed_report.skipped == ()
    assert [d.doc_id for d in seed_report.documents] == [
        "000_862134049d5dfa6d",
        "001_dfa6b030002f8237",
        "002_c66a8223044da39e",
        "003_80137d20f05c6e65",
        "004_e2a6aa540fd26123",
    ]


def test_seed_metadata(seed_report: LoadReport):
    meta = {d.doc_id[:3]: d.meta for d in seed_report.documents}
    assert (meta["000"].title, meta["000"].date, meta["000"].url) == (
        "深圳去年规上工业总产值3.7万亿元 居中国大中城市首位",
        "2021-01-20",
        "https://www.zaobao.com/realtime/china/story20210120-1117826",
    )
    assert (meta["001"].date, meta["001"].url) == ("", "")
    assert meta["001"].title.startswith("在刚刚过去的2023年") and meta["001"].title.endswith("…")
    assert (meta["002"].title, meta["002"].date) == ("架起工业互联网这座桥", "")
    assert (meta["003"].title, meta["003"].date, meta["003"].url) == (
        "工业互联网创新工程带动投资700亿，全国四大梯队发展图谱日益清晰",
        "2021-11-21",
        "",  # its front matter has only image URLs
    )
    assert (meta["004"].title, meta["004"].date, meta["004"].lang) == (
        "City’s industrial output takes the lead",
        "2021-01-21",
        "en",
    )
    assert [m.lang for m in meta.values()] == ["zh", "zh", "zh", "zh", "en"]


def test_seed_hashes_are_distinct_and_stable(seed_report: LoadReport):
    hashes = [d.content_hash for d in seed_report.documents]
    assert len(set(hashes)) == 5
    assert hashes == [d.content_hash for d in load_corpus(SEEDS, 20_000_000).documents]
