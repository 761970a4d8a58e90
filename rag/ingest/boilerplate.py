"""Boilerplate lines of news sites dropped: licences, copyright, editor and byline lines, app promos,
and a site's trailing hot-list / related-posts section.

    strip_boilerplate(text)   line rules learnt from the seed articles

Works on cleaned text, one paragraph a line; does not parse HTML (``html_text`` drops ad and share
containers before this).
"""

from __future__ import annotations

import re

from rag.text.lang import HAN

_LICENCE = re.compile(
    r"ICP\s*[备证]|公网安备|增值电信业务经营许可证|新闻信息服务许可证|友情链接|版权所有|all rights reserved"
    r"|^copyright\b|^(?:©|\(c\))|copyright\s*(?:@|©|\(c\))?\s*\d{4}"
    r"|^\[[^\]]*\]\([^)]*\)$|^(?:[-=*_]\s*){3,}$|^\d{1,2}:\d{2}(?::\d{2})?$",
    re.I,
)
_CREDIT = re.compile(
    r"^(?:责任编辑|编辑|主编|审读|审核|审校|校对|一审|二审|三审|终审|监制|统筹|值班编辑|实习编辑)(?:\s*[:：]\s*|\s+)\S"
    r"|^(?i:writer|editor|author|reporter|source|from|updated|published|posted)\s*[:：]"
    rf"|^(?:本报记者|本报通讯员)(?:[\s、]*[{HAN}]{{2,4}})+$|^(?:来源|稿源|出处)\s*[:：]"
    r"|(?i:app|客户端|二维码|公众号).*(?:下载|尽在|打开|扫码|扫描|关注|识别)"
    r"|(?:下载|尽在|打开|扫码|扫描|关注|识别).*(?i:app|客户端|二维码|公众号)"
    r"|^By\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}$"
)
# a line that is exactly one of these starts a site's hot-list / related / comments tail
_TAIL_MARKERS = {
    "读特热榜", "in视频", "鹏友圈", "相关新闻", "相关阅读", "相关报道", "推荐阅读", "延伸阅读", "热门推荐",
    "猜你喜欢", "热门文章", "精彩推荐", "更多新闻", "网友评论", "热门评论", "related articles",
    "related stories", "read more", "more from this section", "you may also like",
}  # fmt: skip


def _is_boilerplate(line: str) -> bool:
    core = re.sub(r"^[-*•·]\s*", "", line.strip())
    if not core:
        return True
    if len(core) <= 200 and _LICENCE.search(core):
        return True
    return len(core) <= 160 and "。" not in core and bool(_CREDIT.search(core))


def strip_boilerplate(text: str) -> str:
    """Drop site furniture, line by line, and cut a site's trailing hot-list / related-posts section.

    Dropped lines: ICP and police licence numbers, "友情链接", copyright footers, editor and byline
    lines ("编辑 X 审读 Y", "责任编辑：X", "Writer: … | Updated: …", "本报记者 X"), app/QR promos,
    bare timestamps, Markdown link-only and rule lines. A line that is exactly a tail marker
    ("读特热榜", "相关新闻", "Read more", …) ends the article when 200+ characters precede it.
    Photo captions stay.

    >>> strip_boilerplate("深圳工业总产值3.7万亿元。\\n编辑 贺佳艺 审读 韩绍俊\\n海量资讯，尽在新浪财经APP"
    ...                   "\\n- 粤ICP备10228864号\\nCopyright @1997-2023 深圳特区报社")
    '深圳工业总产值3.7万亿元。'
    """
    kept: list[str] = []
    seen = 0
    for line in text.split("\n"):
        core = re.sub(r"^[-*•·]\s*", "", line.strip())
        if core.lower() in _TAIL_MARKERS:
            if seen >= 200:
                break
            continue
        if not _is_boilerplate(line):
            kept.append(line)
            seen += len(core)
    return "\n".join(kept)
