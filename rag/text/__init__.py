"""Pure Chinese/English text functions: no files, no models, no index.

lang       language of a text (Han characters against Latin letters)
figures    figures with their units: parsed to values, written in English (4.6万 -> 46,000)
tokens     search tokens for BM25 (jieba for Chinese, stems for English), part-of-speech cuts
lexicon    Chinese words to English words through CC-CEDICT
names      people's names across the two languages (same-story article, pinyin)
"""
