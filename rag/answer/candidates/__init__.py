"""The model chooses, code writes the figure: answers picked among candidates from the evidence.

extract  the candidates of the kind a question asks for (figure, date, name, list item)
spans    where each kind of candidate is in a sentence
choice   the scoring prompt, each option's likelihood, and the decision (answer / abstain)
writing  the chosen candidate written by code, converted for the reader (4.6万 -> 46,000)
step     the candidate step of one question, or of each of its parts
"""
