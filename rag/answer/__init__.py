"""Question in, cited answer out: retrieve -> evidence -> answer -> review.

pipeline    the one object the CLI, the chat UI and the evaluation use (Pipeline): the steps' order
question    the question checked and cut, its answer language, the text to retrieve with
followup    an elliptical follow-up made to stand alone, by code
question_parts  a question cut into the parts it asks, each made to stand alone
retrieval   e5 + BM25 + USE fused                                  -> Hit
passages    hits cut to sentence windows within the prompt's budget -> Passage
stories     articles telling the same news, so a story is not read twice
tellings    the stories of the loaded index: other tellings of a cited article
evidence    the sentences answering each part of the question      -> Passage
evidence_sentences  the sentences evidence picks from, and what the question adds to their scores
change      a change between two years, computed by code
candidates  the spans of the kind a question asks (figures, dates, names) -> Candidate
candidate_spans    where figures, durations, dates, names, organisations and list items are
candidate_choice   the model chooses among the candidates            -> Choice
candidate_writing  code writes the chosen candidate, converted for the reader
prompt      the answer's chat messages, NO_ANSWER, citation markers renumbered
extractive  answers without a generator: the closest sentences, quoted
review      one step that repairs, keeps or withdraws a written answer
repair      the repairs made by code: echoed figures, English figures and names, wrong language
grounding   the review's verdict: is the sentence stating the answer about what was asked
terms       a question's key terms, and whether a text speaks of them in either language
support     the passage as the checks read it (Evidence), the sentences stating an answer
claims      the answer's figures, counts, dates and years held against the passages
people      the people an answer names, looked for in the sources in either language
confirm     the generator's own yes/no check of the sentence an answer relies on
trust       figures unverified or mis-scaled, the date of a "latest" answer, the language
conflicts   other articles giving a different value for a figure of the answer
cited       where an answer's citations point: the source and the sentence
abstention  the closest sentences shown when no answer is given
gathering   the evidence of each part, retrieved on its own; a change between two years computed
candidates  the model chooses among figures, dates and names; code writes them
choosing    the candidate step for a question, or for each of its parts
drafting    the answer before its review: computed, chosen, quoted or written (Turn, Draft)
generation  the generator guarded, the NO_ANSWER gate, an answer written freely as it streams
extractive  answers without a generator: the closest sentences, quoted
review      one step that repairs, keeps or withdraws a written answer
checking    the pipeline's glue to the review, and the notes added to a kept answer
trust, grounding, conflicts   the review's checks: figures, subject, conflicting sources
citations   the cited passages, each narrowed to its sentence       -> Citation
abstention  the "not found" answer, citing the closest sentences
"""
