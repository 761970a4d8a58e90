"""Measuring the product: question sets, public benchmarks, speed and scale, and their reports.

evaluation  score the pipeline on a question set (retrieval, answers, abstention, citations)
failures    why each wrong or refused answer failed
benchmarks  XQuAD, RGB and CRUD through the chat's own answer path
speed       ``bench speed``: fast paths against a naive baseline, on this CPU
scale       ``bench scale``: build, search and update an index of N articles
report      Markdown tables and charts of the results
"""
