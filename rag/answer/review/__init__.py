"""The review: one step that repairs a written answer, keeps it or withdraws it, and says why.

verdict    review(question, draft, evidence) -> Verdict: the step, its checks in order
apply      the pipeline's side: what the review reads, the notes added to a kept answer
repair     repairs by code: echoed figures, English figures and names, the language
claims     the answer's figures, counts, dates and years held against the passages
grounding  is the sentence stating the answer about what was asked
terms      a question's key terms, matched in either language (CC-CEDICT, pinyin)
people     the people an answer names, found in the sources in either language
support    the passages as the checks read them, and the sentences stating an answer
confirm    the generator's own yes/no check of that sentence
trust      unverified or mis-scaled figures, the date of a "latest" answer
conflicts  other articles giving a different value for a figure of the answer
cited      where each [n] of an answer points: the source and the sentence
"""
