"""The candidate step for one question: the model chooses among the figures, dates and names of
the evidence; code writes the answer. A question of several parts has each part chosen on its
own evidence and written as "(1) … (2) …".

Does not find or score candidates itself (``rag.answer.candidates.extract`` finds them and decides from
the scores; the generator scores them), and does not write freely (``rag.answer.write.free``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.answer.candidates.choice import Choice, candidate_messages, choose, merged_scores, scoring_options
from rag.answer.candidates.extract import Candidate, extract_candidates
from rag.answer.candidates.lists import asks_list, whole_list
from rag.answer.candidates.naming import english_name, needs_english_name
from rag.answer.candidates.writing import reply_forms, written_answer
from rag.answer.question.parts import contained_parts
from rag.answer.retrieve.passages import Passage
from rag.answer.review.relation import asked_relation
from rag.answer.review.verdict import PART_NOT_FOUND
from rag.config import Settings
from rag.models.generator import Generator
from rag.text.lang import detect_lang
from rag.types import Lang

__all__ = ["answered", "choose_answer", "part_answers", "widened_to_list", "write_choice"]
log = logging.getLogger(__name__)
# the English articles of the stories of the passages cited (``Tellings.english``)
EnglishTellings = Callable[[Sequence[Passage], Sequence[int]], list[str]]


def answered(choice: Choice | None) -> Candidate | None:
    """The candidate the model chose to answer with; None when it did not choose one."""
    return choice.candidate if choice is not None and choice.decision == "answer" else None


def write_choice(
    generator: Generator | None, choice: Choice, number: int, lang: Lang, english_texts: Sequence[str]
) -> str:
    """The chosen candidate written by code with its citation ``[number]`` (``written_answer``);
    for an English reader, a name the sources give only in Chinese is also named in English by
    the generator, when the dictionary bears that name out (``rag.answer.candidates.naming``)."""
    candidate, name = answered(choice), ""
    if generator is not None and candidate is not None and needs_english_name(candidate, lang):
        name = english_name(generator, candidate.text)
    return written_answer(choice, number, lang, english_texts, name)


def choose_answer(
    generator: Generator | None,
    question: str,
    passages: Sequence[Passage],
    parts: Sequence[str],
    lang: Lang,
    settings: Settings,
    for_part: bool = False,
) -> tuple[Choice | None, int]:
    """The candidate answer chosen by the generator's scores (``rag.answer.candidates.extract``), for a
    one-part question asking a figure, a date, a name or a list item; None when the step is off
    or does not apply (the answer is then written freely), or the generator cannot score
    options; and the scoring prompt's tokens. "Not stated" winning abstains for a part of a
    question only: for a whole question it leaves the answer undecided, to the answer prompt's
    gate and the review, as the scorer says it as readily for a paraphrase ("smart poles" for
    "multi-function poles") as for a question the sources do not answer."""
    s = settings
    if not s.answer_candidates or generator is None or len(parts) > 1:
        return None, 0
    texts, dates = [p.text for p in passages], [p.date or p.hit.doc.date for p in passages]
    candidates = extract_candidates(question, texts, dates)
    if not candidates:
        return None, 0
    t = time.perf_counter()
    source_lang = detect_lang(" ".join(c.sentence for c in candidates))
    # the reply's language is not the sentences': the options copy their spans, so the scoring
    # prompt asks in the sentences' language (asked in the reader's, "not stated" wins too often)
    cross = lang != source_lang
    messages = candidate_messages(question, candidates, source_lang if cross else lang)
    # each candidate's written forms (in the reply's language too), then NOT_STATED
    options, owner = scoring_options(candidates, [reply_forms(c, lang) for c in candidates] if cross else ())
    scored = generator.candidate_scores(messages, options)
    if scored is None:  # a generator that cannot score options: no candidate step
        return None, 0
    choice = choose(
        candidates,
        merged_scores(scored, owner),
        min_probability=s.candidate_probability,
        min_likely=s.candidate_min_likely,
        cross_language=cross,
    )
    if choice.decision == "abstain" and not for_part:
        choice = replace(choice, decision="undecided")
    choice = widened_to_list(question, choice)
    tokens = generator.count_tokens(messages)
    log.info(
        "candidates: %d, %d prompt tokens, %.0f ms: %s %s %.2f",
        len(candidates),
        tokens,
        (time.perf_counter() - t) * 1000,
        choice.decision,
        choice.candidate.text if choice.candidate else "",
        choice.probability,
    )
    return choice, tokens


def widened_to_list(question: str, choice: Choice) -> Choice:
    """For a question asking several things (哪些, 有谁), the chosen name widened to its list."""
    c = choice.candidate
    if choice.decision != "answer" or c is None or c.kind not in ("name", "item") or not asks_list(question):
        return choice
    items = whole_list(c.sentence, c.text, [t.text for t in asked_relation(question)])
    if len(items) < 2:
        return choice
    return replace(choice, candidate=replace(c, text="、".join(items), kind="list"))


def part_answers(
    generator: Generator | None,
    parts: Sequence[str],
    passages: Sequence[Passage],
    own: Sequence[tuple[int, ...]],
    lang: Lang,
    settings: Settings,
    english_tellings: EnglishTellings,
) -> tuple[list[str | None], int]:
    """For a question of several parts, each part answered from its own evidence (``own``: the
    numbers of its passages): the candidate the generator scores highest for that part alone
    (with what an elliptical part leaves out, ``contained_parts``), written by code with its
    citation as "(k) …", a part whose "not stated" wins saying so, a part the scores leave
    undecided None (it is written freely). [] when the question has one part; and the scoring
    prompts' tokens."""
    if len(parts) < 2 or len(own) != len(parts):
        return [], 0
    lines: list[str | None] = []
    tokens = 0
    for k, (part, numbers) in enumerate(zip(contained_parts(parts), own, strict=True), 1):
        choice, used = choose_answer(
            generator, part, [passages[n - 1] for n in numbers], [part], lang, settings, for_part=True
        )
        tokens += used
        if choice is None or choice.decision not in ("answer", "abstain"):
            lines.append(None)
        elif (candidate := answered(choice)) is None:  # "not stated" won for this part
            lines.append(f"({k}) {PART_NOT_FOUND[lang]}")
        else:
            n = numbers[candidate.passage]
            lines.append(f"({k}) {write_choice(generator, choice, n, lang, english_tellings(passages, [n]))}")
    return lines, tokens
