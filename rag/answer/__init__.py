"""Question in, cited answer out: question -> retrieve -> evidence -> candidates or write -> review.

    pipeline     Pipeline: loads the models and the index once, and runs the steps below in order
    question/    the question checked, its language, a follow-up made to stand alone, its parts
    retrieve/    e5 + BM25 + USE fused into hits; stories told once; hits cut to the prompt's budget
    evidence/    the sentences answering each part; a change between two years computed by code
    candidates/  figures, dates and names from the evidence: the model chooses, code writes them
    write/       the prompt, free generation with its NO_ANSWER gate, extractive answers, citations,
                 the abstention with the closest sentences
    review/      one step that repairs, keeps or withdraws a written answer, and says why

Each sub-package's ``__init__`` lists its modules. Other stages use ``Pipeline`` (and the
``Answer`` of ``rag.types``); the modules here import each other only through public names.
"""
