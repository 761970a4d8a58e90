"""From the question to the passages: search the index, tell each story once, cut to the budget.

search    e5 + BM25 + USE over the index, fused into one ranking             -> Hit
stories   story groups: articles telling the same news (a translation, a reprint)
tellings  the story groups of one loaded index, and the other tellings of a cited article
passages  the hits cut to sentence windows within the prompt's budget       -> Passage
"""
