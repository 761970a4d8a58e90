"""Question in, cited answer out: retrieve -> evidence -> answer -> review.

pipeline    the one object the CLI, the chat UI and the evaluation use (Pipeline)
followup    an elliptical follow-up made to stand alone, by code
retrieval   e5 + BM25 + USE fused                                  -> Hit
stories     articles telling the same news, so a story is not read twice
evidence    the sentences answering each part of the question      -> Passage
candidates  the model chooses among figures, dates and names; code writes them
extractive  answers without a generator: the closest sentences, quoted
review      one step that repairs, keeps or withdraws a written answer
trust, grounding, conflicts   the review's checks: figures, subject, conflicting sources
display     what a reader is shown around a citation: its sentences, its story's articles
"""
