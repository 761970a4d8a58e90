"""Whose a span of a sentence is: what news sentences say about a figure or a name besides its
value, read by grammar so a candidate that belongs to something else is not offered.

* ``byline``: a name after 记者 / 编辑 / 通讯员 is who wrote the report, not whom it is about;
* ``respective_owner``: "内蒙古、陕西、新疆三地增速分别为36.6%、19.4%、17.8%" gives each figure
  to the item of the list in its place (17.8% is 新疆's);
* ``is_change`` (``rag.text.figures``): "报名人数增加115万" gives a change, not the count itself;
* ``other_work``: "8月25日发售《装甲核心6》，同时开发《艾尔登法环》的DLC" dates another work;
* ``other_role``: "电影节大使郭富城" is introduced as an ambassador, not as a director;
* ``former_holder``: "卫冕冠军江苏苏宁" won the title before, not in the season asked;
* ``is_share``: "河南夏粮总产量占全国的26.1%" is a share, not the output or its growth;
* ``said_of_another`` (``rag.text.measures``): "财政收入整体下滑……西藏（-24.2%）" is fiscal
  revenue's, not the economy's; "全年增长3.0%" is the year's, not the first quarter's.

``foreign(question, sentence, (start, end), kind)`` puts them together for the candidate step.

Pure text: does not find candidates (``rag.answer.candidates.spans``) or choose among them.
"""

from __future__ import annotations

import re

from rag.text.figures import asks_level, find_figures, is_change
from rag.text.measures import said_of_another
from rag.text.tokens import pos_cut

_BYLINE = re.compile(
    r"(?:记者|编辑|责编|责任编辑|通讯员|实习生|作者|撰文|摄影|文/|图/|来源[:：]?)[\s　:：/|]*$"
)
_DATELINE = re.compile(r"\s*[（(][^）)]{0,12}(?:讯|电|报道|消息)\s*[）)]")
_ABOUT_REPORTERS = re.compile(r"记者|编辑|通讯员|作者|撰文|摄影|\breporter|\beditor|\bauthor|\bwrote\b", re.I)
_LIST_ITEM = r"[^、，,。；;：:\s和及与]{1,12}"
_LIST = re.compile(rf"({_LIST_ITEM}(?:、{_LIST_ITEM})+(?:(?:和|及|与|以及){_LIST_ITEM})?)")
_ROLES = (  # the roles news introduces a person by, right before the name
    "导演|主演|演员|编剧|制片人|大使|主席|总裁|董事长|总经理|经理|主持人|发言人|教练|队长|局长|市长|省长"
    "|书记|部长|总统|总理|首相|创始人|冠军|得主"
)
_ROLE = re.compile(_ROLES)
_ROLE_BEFORE = re.compile(f"(?:{_ROLES})$")
_SAME_ROLE = {"主演": ("演员",), "演员": ("主演",)}  # roles that name the same people
LIST_SPLIT = re.compile(r"、|以及|和|及|与")  # between the items of a list
_TITLE = re.compile(r"《([^》]{1,30})》")
_RUN_GAP = re.compile(r"[^\d，,。；;：:（()]{0,4}?[、和及与][^\d，,。；;：:（()]{0,2}")  # 亿、 / 亿和
_GROUP_WORD = re.compile(r"(?:[两三四五六七八九十]|\d+)[地家省市国区个者项类]|等")
_NOT_NAME = ("c", "p", "v", "vd", "d", "a", "ad", "uj", "ul")  # words that start or end no item's name


def byline(sentence: str, start: int, end: int) -> bool:
    """Whether the span ``sentence[start:end]`` is a byline: after a reporter's or editor's
    title, or before the outlet's dateline ("黄一帆 （观察者网 讯）").

    >>> s = "总台记者 何欣蕾） 据日本MBC新闻报道，安倍晋三演讲时中枪。"
    >>> [byline(s, s.find(name), s.find(name) + len(name)) for name in ("何欣蕾", "安倍晋三")]
    [True, False]
    >>> s = "下载观察者APP 黄一帆 （观察者网 讯）澳大利亚广播电视公司消息"
    >>> byline(s, s.find("黄一帆"), s.find("黄一帆") + 3)
    True
    """
    return bool(_BYLINE.search(sentence[max(0, start - 8) : start]) or _DATELINE.match(sentence, end))


def respective_owner(sentence: str, start: int) -> tuple[str, list[str]] | None:
    """For a figure at ``start`` in a run of figures that pairs with a list of as many items
    before it ("A、B和C…分别为x、y、z"): the item of the list in its place and the whole list;
    None when the figure is in no run or no list pairs with its run.

    >>> s = "内蒙古、陕西、新疆三地保持高增速，增速分别为36.6%、19.4%、17.8%，高出46.8、32.3、34个百分点。"
    >>> respective_owner(s, s.find("17.8%")), respective_owner(s, s.find("34个"))[0]
    (('新疆', ['内蒙古', '陕西', '新疆']), '新疆')
    >>> respective_owner("深圳、东莞的目标是5%。", 9) is None
    True
    """
    run = next((r for r in _runs(sentence) if any(start <= v <= start + 6 for v in r)), [])
    if len(run) < 2:
        return None
    k = next(i for i, v in enumerate(run) if start <= v <= start + 6)
    for m in reversed(list(_LIST.finditer(sentence[: run[0]]))):
        items = _trimmed(LIST_SPLIT.split(m.group(1)))
        if len(items) == len(run) and not all(re.search(r"\d", i) for i in items):
            return items[k], items
    return None


def _runs(sentence: str) -> list[list[int]]:
    """The starts of the figures of ``sentence``, grouped in runs joined by 、 / 和 (36.6%、19.4%和17.8%).

    >>> _runs("营收分别为586亿、376亿和311亿，增长5%。")
    [[5, 10, 15], [22]]
    """
    runs: list[list[int]] = []
    end = -1
    for f in find_figures(sentence):
        if runs and _RUN_GAP.fullmatch(sentence[end : f.start]):
            runs[-1].append(f.start)
        else:
            runs.append([f.start])
        end = f.end
    return runs


def _trimmed(items: list[str]) -> list[str]:
    """The items of a list cut from a sentence without the words around them: the first
    without a conjunction before it (但是内蒙古), the last without a group word or what
    follows its name (新疆三地逆势保持 -> 新疆).

    >>> _trimmed(["但是内蒙古", "陕西", "新疆三地逆势保持高增速"])
    ['内蒙古', '陕西', '新疆']
    """
    first = list(pos_cut(items[0]))
    while len(first) > 1 and first[0][1] in _NOT_NAME:
        first = first[1:]
    last = _GROUP_WORD.split(items[-1])[0] or items[-1]
    words = list(pos_cut(last))
    cut = next((i for i, (_, f) in enumerate(words) if i and f in _NOT_NAME), len(words))
    return ["".join(w for w, _ in first), *items[1:-1], "".join(w for w, _ in words[:cut])]


def _shared(item: str, question: str) -> bool:
    """Whether ``question`` names ``item``: two or more of its characters in a row."""
    return any(item[i : i + 2] in question for i in range(len(item) - 1))


def other_work(question: str, sentence: str, start: int) -> bool:
    """Whether the span at ``start`` is in a clause about another work (《…》) than the one the
    question names, the asked work being named elsewhere in ``sentence``.

    >>> s = "开发商计划于8月25日发售《装甲核心6》，同时也在开发《艾尔登法环》的首个DLC。"
    >>> [other_work(q, s, s.find("8月25日")) for q in ("艾尔登法环发售日期", "《装甲核心6》发售日期")]
    [True, False]
    """
    titles = _TITLE.findall(sentence)
    if not any(t in question for t in titles):
        return False  # the question names none of the sentence's works
    clause = _TITLE.findall(_clause(sentence, start))
    return bool(clause) and not any(t in question for t in clause)


def _clause(sentence: str, start: int) -> str:
    """The clause of ``sentence`` (between commas, semicolons, stops) holding ``start``.

    >>> _clause("深圳增长5%，东莞增长6%。", 9)
    '东莞增长6%'
    """
    a = max(sentence.rfind(c, 0, start) for c in "，,；;。") + 1
    ends = [i for i in (sentence.find(c, start) for c in "，,；;。") if i >= 0]
    return sentence[a : min(ends, default=len(sentence))]


def other_role(question: str, sentence: str, start: int) -> bool:
    """Whether the name at ``start`` is introduced by a role (电影节大使郭富城) other than the one
    the question asks (导演).

    >>> s = "本届电影节大使郭富城表示，《七人乐队》云集了七位大导演。"
    >>> [other_role(q, s, s.find("郭富城")) for q in ("《七人乐队》的导演是谁？", "电影节大使是谁？")]
    [True, False]
    >>> s = "剧中主要的演员有演员杨紫，成毅，张睿等人。"
    >>> other_role("《沉香如屑》的主演？", s, s.find("杨紫"))
    False
    """
    asked = [alike for role in _ROLE.findall(question) for alike in (role, *_SAME_ROLE.get(role, ()))]
    before = _ROLE_BEFORE.search(sentence[max(0, start - 6) : start])
    return bool(asked) and before is not None and before.group(0) not in asked


_FORMER = re.compile(r"卫冕|上届|上一届|前任|卸任|原任|\b(?:defending|former|previous|outgoing)\b", re.I)
_SHARE_BEFORE = re.compile(  # 占全国的26.1%, 是大陆的2%, accounting for 26%
    r"占[^，,。；;]{0,14}$|(?:是|相当于)[^，,。；;\d]{1,12}的$|(?:accounting for|making up)\s*$"
)
_SHARE_ASKED = re.compile(
    r"占|比重|比例|份额|百分之|几成|\b(?:share|proportion|percent(?:age)?|fraction|portion)\b", re.I
)


def former_holder(question: str, sentence: str, start: int) -> bool:
    """Whether the name at ``start`` is in a clause that calls it a former holder (卫冕冠军,
    上届, 前任: the title's holder before the one asked) when the question asks a holder and not
    a former one.

    >>> s = "诺瓦克·德约科维奇和大坂直美分别是男女单打卫冕冠军。"
    >>> [former_holder(q, s, 0) for q in ("2022年澳网男单冠军", "澳网卫冕冠军是谁")]
    [True, False]
    """
    if not _ROLE.search(question) or _FORMER.search(question):
        return False
    return bool(_FORMER.search(_clause(sentence, start)))


def is_share(sentence: str, start: int) -> bool:
    """Whether the percentage or fraction at ``start`` is said as a share of something
    (占全国的26.1%, 是大陆的2%), which answers only a question asking a share.

    >>> s = "2021年，河南夏粮总产量占全国的26.1%，增长2.5%。"
    >>> is_share(s, s.find("26.1")), is_share(s, s.find("2.5%"))
    (True, False)
    """
    figure = next((f for f in find_figures(sentence) if f.start == start), None)
    if figure is None or figure.kind not in ("percent", "fraction"):
        return False
    return bool(_SHARE_BEFORE.search(sentence[max(0, start - 20) : start]))


def foreign(question: str, sentence: str, span: tuple[int, int], kind: str) -> bool:
    """Whether the ``span`` (start, end) of ``sentence`` belongs to something else than ``question``
    asks: a byline name (unless reporters are asked about), a change when the question asks a
    level, a figure said of another statistic or part of the year (``rag.text.measures``: fiscal
    revenue for the economy, the full year for the first quarter), a figure 分别 gives to an item
    of a list other than the one the question names, or a span of a clause about another work
    (``other_work``).

    >>> s = "美团、拼多多和百度一季度营收分别为586亿、376亿和311亿。"
    >>> [foreign(q, s, (s.find("586亿"), 0), "figure") for q in ("美团一季度营收？", "京东一季度营收？")]
    [False, True]
    >>> foreign("百度一季度营收？", s, (s.find("311亿"), 0), "figure")
    False
    >>> s = "上半年财政收入整体下滑，其中青海（-21.0%）、西藏（-24.2%）降幅最大。"
    >>> foreign("上半年西藏经济增长了多少？", s, (s.find("-24.2%"), 0), "figure")
    True
    >>> s = "全年国内生产总值增长3.0%，一季度增长4.8%。"
    >>> [foreign("2022年一季度中国经济增长率？", s, (s.find(f), 0), "figure") for f in ("3.0%", "4.8%")]
    [True, False]
    """
    start, end = span
    if other_work(question, sentence, start):
        return True
    if kind == "name":
        if other_role(question, sentence, start) or former_holder(question, sentence, start):
            return True
        return byline(sentence, start, end) and not _ABOUT_REPORTERS.search(question)
    if kind != "figure":
        return False
    if is_change(sentence, start) and asks_level(question):
        return True
    if is_share(sentence, start) and not _SHARE_ASKED.search(question):
        return True
    if said_of_another(question, sentence, start):
        return True  # 财政收入 for 经济增长, 全年 for 一季度
    owner = respective_owner(sentence, start)
    if owner is None:
        return False
    mine, items = owner
    named = [i for i in items if _shared(i, question)]
    return mine not in named
