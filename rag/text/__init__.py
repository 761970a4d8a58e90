"""Pure Chinese/English text functions: no files, no models, no index.

lang       language of a text (Han characters against Latin letters)
figures    figures with their units found in text and parsed to values (4.6万 -> 46000.0)
figures_en figures written the English way (4.6万 -> 46,000), for prompts and English answers
tokens     search tokens for BM25 (jieba for Chinese, stems for English), part-of-speech cuts
lexicon    Chinese words to English words through CC-CEDICT
names      people's names across the two languages (same-story article, pinyin)
dates      the month an undated article's text implies it was written in, at the earliest
measures   the statistic or part of the year a figure is given for, forecasts
abbreviations  a Chinese abbreviation in the name it shortens, an English acronym spelled out
"""
