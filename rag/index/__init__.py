"""Documents -> a versioned index folder, and the loaded index that answers searches.

    chunking   sentence-aware passages                       Document -> Chunk
    build      build / update the index (only new or changed articles embedded, atomic swap)
    sync       the corpus folder (or a collection) brought into the index: load, clean, build
    folder     a build folder being written; reuse: vectors found again by their text's hash
    manifest   the index manifest and the layout of an index folder
    vectors    vector stores (exact FAISS, IVF above 20k vectors); milvus: the Milvus store
    bm25       BM25 postings that grow and shrink in place
    store      a loaded, read-only index (IndexStore)
"""
