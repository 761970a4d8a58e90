"""Question in, cited answer out: retrieve -> evidence -> answer -> review.

pipeline    the one object the CLI, the chat UI and the evaluation use (Pipeline): the steps' order
question    the question checked and cut, its answer language, the text to retrieve with
followup    an elliptical follow-up made to stand alone, by code
retrieval   e5 + BM25 + USE fused                                  -> Hit
stories     articles telling the same news, so a story is not read twice
tellings    the stories of the loaded index: other tellings of a cited article
evidence    the sentences answering each part of the question      -> Passage
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
