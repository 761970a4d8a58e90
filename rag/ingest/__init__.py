"""Files -> Documents: reading article files, cleaning them, collections, the corpus folder.

loaders      article files -> Documents (the only ingestion module that opens files)
cleaning     HTML, Markdown, plain and PDF text -> plain text, one paragraph a line
collections  many articles in one file (.txt one a line, .jsonl), streamed
corpus       the corpus folder as a person manages it: add, remove, list articles
uploads      files checked before they enter the corpus folder: name, type, size, clashes
journal      the record of a change in progress, the staging folder, the corpus lock
"""
