"""Files -> Documents: reading article files, cleaning them, collections, the corpus folder.

loaders      article files -> Documents (the only ingestion module that opens files)
formats      bytes -> text (encodings), YAML front matter, the kind of a body (html, markdown, text)
docmeta      title, date and URL of an article from front matter, HTML and text
records      what each corpus file loaded to last time (files.json), and the cleaner id
cleaning     HTML, Markdown, plain and PDF text -> plain text, one paragraph a line (the chain)
plain_text   plain text and Markdown -> lines; whitespace; the line rules cleaning shares
html_text    HTML -> the main text of a page
html_nesting tags of elements nested too deep dropped before parsing (linear time)
pdf_text     damaged PDF extractions repaired (doubled lines, spaced CJK, broken lines)
boilerplate  licence, copyright, editor and promo lines, site tails dropped
collections  many articles in one file (.txt one a line, .jsonl), streamed
corpus       the corpus folder as a person manages it: add, remove, list articles
uploads      files checked before they enter the corpus folder: name, type, size, clashes
journal      the record of a change in progress, the staging folder, the corpus lock
"""
