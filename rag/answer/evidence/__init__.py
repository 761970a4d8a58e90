"""Evidence first: the sentences that answer each part of the question, before anything is written.

pick       the sentences scored (both encoders, BM25, the question's names, years and units)
sentences  the candidate sentences and what the question adds to each one's score
gather     each part retrieved and evidenced on its own                      -> Passage
change     a change between two years computed by code from two cited figures
"""
