"""Documents -> a versioned index folder, and the loaded index that answers searches.

spec       IndexSpec: what an index is built with (embedder, prompts, chunking, encoders, store)
chunking   sentence-aware passages                       Document -> Chunk
build      build / update the index (only new or changed articles embedded, atomic swap)
changes    one pass over the documents: what is new, changed or gone against the live build
finish     the stages that end a build: vector stores, BM25, manifest, swap, clean-up
sync       the corpus folder (or a collection) brought into the index: load, clean, build
folder     a build folder being written, and the live build it starts from
reuse      vectors found again by their text's hash; lazy: models loaded on first use
manifest   the index manifest and the layout of an index folder
vectors    vector stores (exact FAISS, IVF above 20k vectors); milvus: the Milvus store
recall     exact search and the recall of an approximate store
bm25       BM25 postings that grow and shrink in place
store      a loaded, read-only index (IndexStore)
"""
