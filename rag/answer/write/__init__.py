"""Writing the answer when it is not chosen among candidates, and what every answer carries.

prompt      the chat messages the generator reads; citation markers renumbered
free        the generator guarded: the NO_ANSWER gate, free writing as it streams
extractive  answers without a generator: the closest sentences, quoted
draft       the answer before its review (computed, chosen, quoted or written)
citations   each cited passage narrowed to its sentence                      -> Citation
display     what the UI draws around a citation: context, story, other tellings
abstention  the "not found" answer, citing the closest sentences found
"""
