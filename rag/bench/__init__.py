"""Measuring the product: question sets, public benchmarks, speed and scale, and their reports.

cli               the ``eval`` and ``bench`` subcommands (imported by ``rag.__main__`` only for them)
questions         question sets: the JSON Lines format, read and checked
scoring           whether an answer is right; hit@k, MRR, shares and latency percentiles
evaluation        score the pipeline on a question set (retrieval, answers, abstention, citations)
failures          why each wrong or refused answer failed
benchmarks        what the public benchmarks share: passages as documents, a fresh index per run
xquad             XQuAD (cross-lingual reading) through the chat's own answer path
rgb               RGB (noise robustness and rejection) through the chat's own answer path
speed             ``bench speed``: fast paths against a naive baseline, on this CPU (runs the rest)
speed_cpu         the CPU, its peak GFLOP/s and the llama.cpp build
speed_embedding   embedding throughput: sentence-transformers fp32 against ours
speed_generation  prompt reading, answers against a naive prompt, time to first token by stage
speed_startup     cold start of ``rag serve``: page up, first answer, peak memory
speed_table       the speed figures as text
scale             ``bench scale``: build, search and update an index of N articles
scale_corpus      its inputs: the CRUD sample replicated to N articles, a hash stand-in for e5
report            Markdown tables and charts of the evaluation and benchmark results
"""
