"""The converted e5 run without torch: OpenVINO's compiled graph and the ``tokenizers`` library.

``OpenVINOEncoder`` runs the graph ``rag prepare`` converted (BERT + mean pooling) for this CPU;
``FastTokenizer`` gives the same tokens as the transformers tokenizer sentence-transformers loads,
from the copy of it saved in the converted folder (``tokenizer_spec``). Together they let
``rag ask`` embed a question without importing torch or transformers.

Does not choose the path (``rag.models.embed_backend``), pad, batch or normalise
(``rag.models.embedding``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.errors import ModelError
from rag.models.embed_backend import OV_FILE, converted_dir


class OpenVINOEncoder:
    """The converted e5 (BERT + mean pooling in one graph) compiled by OpenVINO for this CPU."""

    def __init__(self, folder: Path, dtype: str, threads: int = 0) -> None:
        import openvino as ov

        config: dict[str, object] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "bf16" if dtype == "bfloat16" else "f32",
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        core = ov.Core()
        try:
            self._compiled = core.compile_model(core.read_model(folder / OV_FILE), "CPU", config)
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelError(
                f"could not load the OpenVINO model in {folder}: {exc}. "
                "Run `python -m rag prepare --force` to convert it again."
            ) from exc
        self._request = self._compiled.create_infer_request()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self._request.infer({"input_ids": input_ids, "attention_mask": attention_mask})
        return np.array(out[0], dtype=np.float32)


OV_TOKENIZER = "tokenizer.json"  # in the converted folder: the tokenizer as transformers builds it


def tokenizer_spec(path: Path) -> str:
    """The e5 tokenizer as transformers builds it (JSON of the ``tokenizers`` library), read from the
    converted folder; saved there on first use when ``rag prepare`` did not write it (older folders).
    transformers rebuilds it from the vocabulary, not from the folder's own ``tokenizer.json`` (which
    splits whitespace differently), so this copy is the one that gives the index's tokens."""
    saved = converted_dir(path, "openvino") / OV_TOKENIZER
    if saved.is_file():
        return saved.read_text(encoding="utf-8")
    from transformers import AutoTokenizer

    spec = AutoTokenizer.from_pretrained(path).backend_tokenizer.to_str()
    try:
        tmp = saved.with_suffix(".tmp")
        tmp.write_text(spec, encoding="utf-8")
        tmp.replace(saved)
    except OSError:  # a read-only models folder: transformers is imported again next time
        pass
    return spec


class FastTokenizer:
    """The e5 tokenizer run by the ``tokenizers`` library: the same tokens as the transformers
    tokenizer sentence-transformers loads, without importing transformers (or torch, which it pulls
    in). Called like that tokenizer, for the two uses here."""

    def __init__(self, spec: str, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_str(spec)  # one copy, never reconfigured: safe across threads
        self._tok.no_padding()
        self._tok.no_truncation()  # cut by ``__call__`` (parsing the 17 MB spec again took 0.75 s)
        self._max = max_tokens
        self.pad_token_id = self._tok.token_to_id("<pad>")

    def __call__(
        self,
        texts: str | list[str],
        add_special_tokens: bool = True,
        truncation: bool = False,
        max_length: int | None = None,
    ) -> dict[str, list]:
        """``{"input_ids": ...}`` of one text or a list; ``truncation`` cuts at the model's limit,
        as the library's own truncation does: the text's tokens, before the special ones."""
        batch = [texts] if isinstance(texts, str) else list(texts)
        if not truncation:
            encodings = self._tok.encode_batch(batch, add_special_tokens=add_special_tokens)
        else:
            encodings = self._tok.encode_batch(batch, add_special_tokens=False)
            room = self._max - (self._tok.num_special_tokens_to_add(False) if add_special_tokens else 0)
            for e in encodings:
                e.truncate(room)
            if add_special_tokens:
                encodings = [self._tok.post_process(e) for e in encodings]
        ids = [e.ids for e in encodings]
        return {"input_ids": ids[0] if isinstance(texts, str) else ids}
