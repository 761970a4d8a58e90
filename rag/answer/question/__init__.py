"""The question, before anything is retrieved. Pure text: no models, no index.

check     checked and cut to length, its answer language, the text retrieval searches with
kind      what it asks for: a figure, a duration, a date, a name, or words (why, how)
followup  an elliptical follow-up ("那2023年呢？") made to stand alone from the conversation
parts     a question of several parts cut into parts, each made to stand alone
source    the language of the report a question names ("根据…英文报道"), and its words left out
"""
