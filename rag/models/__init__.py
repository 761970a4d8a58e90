"""The models behind narrow interfaces, and their preparation.

embedding  the Embedder protocol and e5 (OpenVINO or torch, chosen per CPU), L2-normalised
encoder2   the second encoder (multilingual USE) for cross-language search
generator  the Generator protocol and the llama.cpp generator (saved prompt states)
prepare    model files shipped in PyPI packages turned into ordinary model files, once
"""
