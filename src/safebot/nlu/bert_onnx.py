"""Build the ONNX graph of a BERT sentence encoder straight from its weights (numpy + onnx only).

No torch, no export tracing: the graph is written node by node with ``onnx.helper`` from the
``model.safetensors`` tensors and ``config.json``, so the conversion runs anywhere safebot
installs and gives the same bytes every time (nodes, names and initialisers are emitted in a
fixed order).

The graph is the whole sentence-transformers pipeline of all-MiniLM-L6-v2
(``modules.json``: Transformer -> Pooling(mean) -> Normalize):

* inputs ``input_ids`` and ``attention_mask``, int64 ``[batch, seq]``; ``token_type_ids`` are
  always 0 for single sentences, so that embedding row is folded into a constant;
* embeddings (word + position + type, LayerNorm), then ``num_hidden_layers`` post-LN
  Transformer layers (self-attention with the additive padding mask, erf GELU feed-forward);
* mean over the tokens the mask keeps (the token count clamped at 1e-9, as the Pooling module
  does) and division by the L2 norm clamped at 1e-12 (``torch.nn.functional.normalize``);
* output ``sentence_embedding``, float32 ``[batch, hidden]``.

>>> from safebot.nlu.bert_onnx import BertShape, build_bert_graph   # doctest: +SKIP
>>> model = build_bert_graph(weights, BertShape.from_config(cfg))    # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import onnx

__all__ = ["OPSET", "BertShape", "build_bert_graph"]

#: Opset 17 has LayerNormalization; every ONNX Runtime of the last few years runs it.
OPSET = 17


@dataclass(frozen=True)
class BertShape:
    """The few numbers of a BERT ``config.json`` the graph depends on."""

    hidden: int
    heads: int
    layers: int
    intermediate: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BertShape:
        """Read a parsed Hugging Face BERT ``config.json``; reject what this builder cannot do."""
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
            raise ValueError("only BERT models with erf GELU activations are supported")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        return cls(
            hidden=int(cfg["hidden_size"]),
            heads=int(cfg["num_attention_heads"]),
            layers=int(cfg["num_hidden_layers"]),
            intermediate=int(cfg["intermediate_size"]),
            layer_norm_eps=float(cfg["layer_norm_eps"]),
        )


class _Graph:
    """Accumulates nodes and initialisers with unique, deterministic names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: npt.NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self._n += 1
        out = f"{name}_{self._n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def build_bert_graph(
    weights: Mapping[str, npt.NDArray[Any]],
    shape: BertShape,
    *,
    half_word_embeddings: bool = False,
    doc: str = "",
) -> onnx.ModelProto:
    """The ONNX model of ``BertModel`` + mean pooling + L2 normalisation, from named weights.

    ``weights`` uses the Hugging Face ``BertModel`` names (``embeddings.word_embeddings.weight``,
    ``encoder.layer.0.attention.self.query.weight``, ...), as in the model's safetensors file.
    ``half_word_embeddings`` stores the word-embedding table (47 of the 58 MB of the int8
    model) as float16, cast back to float32 after the lookup: half the bytes to read and
    initialise when a process loads the model, a relative error of at most 2**-11 per value.
    """
    import numpy as np
    from onnx import TensorProto, helper

    f32 = np.float32
    g = _Graph()
    head_dim = shape.hidden // shape.heads

    def w(name: str) -> npt.NDArray[np.float32]:
        return np.ascontiguousarray(weights[name], dtype=f32)

    def linear(x: str, prefix: str) -> str:
        # PyTorch Linear stores weight as (out, in); MatMul wants (in, out).
        wt = g.const(f"{prefix}.weight_t", np.ascontiguousarray(w(f"{prefix}.weight").T))
        b = g.const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return g.op("Add", [g.op("MatMul", [x, wt], prefix + ".matmul"), b], prefix + ".add")

    def layer_norm(x: str, prefix: str) -> str:
        scale = g.const(f"{prefix}.weight", w(f"{prefix}.weight"))
        bias = g.const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return g.op(
            "LayerNormalization", [x, scale, bias], prefix, axis=-1, epsilon=shape.layer_norm_eps
        )

    # -- shared constants ----------------------------------------------------------------------
    i64 = np.int64
    c_zero = g.const("c.zero_i64", np.array(0, dtype=i64))
    c_one = g.const("c.one_i64", np.array(1, dtype=i64))
    c_idx1 = g.const("c.index1", np.array([1], dtype=i64))
    c_ax1 = g.const("c.axes1", np.array([1], dtype=i64))
    c_ax12 = g.const("c.axes12", np.array([1, 2], dtype=i64))
    c_axm1 = g.const("c.axes_last", np.array([-1], dtype=i64))
    c_heads = g.const("c.split_heads", np.array([0, 0, shape.heads, head_dim], dtype=i64))
    c_merge = g.const("c.merge_heads", np.array([0, 0, shape.hidden], dtype=i64))
    c_onef = g.const("c.one_f", np.array(1.0, dtype=f32))
    c_minf = g.const("c.mask_min", np.array(np.finfo(f32).min, dtype=f32))
    c_scale = g.const("c.attn_scale", np.array(1.0 / math.sqrt(head_dim), dtype=f32))
    c_sqrt2 = g.const("c.sqrt2", np.array(math.sqrt(2.0), dtype=f32))
    c_half = g.const("c.half", np.array(0.5, dtype=f32))
    c_count_eps = g.const("c.count_eps", np.array(1e-9, dtype=f32))
    c_norm_eps = g.const("c.norm_eps", np.array(1e-12, dtype=f32))

    # -- embeddings ------------------------------------------------------------------------------
    table = w("embeddings.word_embeddings.weight")
    if half_word_embeddings:
        table = table.astype(np.float16)
    word = g.const("embeddings.word_embeddings.weight", table)
    pos = g.const(
        "embeddings.position_embeddings.weight", w("embeddings.position_embeddings.weight")
    )
    # Single sentences: token_type_ids are all 0, so only row 0 of the type table is ever used.
    type0 = g.const("embeddings.token_type_row0", w("embeddings.token_type_embeddings.weight")[0])
    seq_len = g.op(
        "Squeeze", [g.op("Gather", [g.op("Shape", ["input_ids"], "shape"), c_idx1], "seq")], "seq"
    )
    positions = g.op("Range", [c_zero, seq_len, c_one], "positions")
    h = g.op("Gather", [word, "input_ids"], "embeddings.word", axis=0)
    if half_word_embeddings:
        h = g.op("Cast", [h], "embeddings.word.f32", to=TensorProto.FLOAT)
    h = g.op("Add", [h, g.op("Gather", [pos, positions], "embeddings.pos", axis=0)], "emb.add")
    h = g.op("Add", [h, type0], "emb.type")
    h = layer_norm(h, "embeddings.LayerNorm")

    # -- additive attention mask: 0 where attended, float32 min at padding -----------------------
    mask_f = g.op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [c_onef, mask_f], "mask_inv")
    additive = g.op("Mul", [inverted, c_minf], "mask_add")
    additive = g.op("Unsqueeze", [additive, c_ax12], "mask_b11s")  # [batch, 1, 1, seq]

    # -- transformer layers ----------------------------------------------------------------------
    for i in range(shape.layers):
        p = f"encoder.layer.{i}"

        def heads(x: str, tag: str, perm: list[int], p: str = p) -> str:
            return g.op(
                "Transpose", [g.op("Reshape", [x, c_heads], f"{p}.{tag}.split")], f"{p}.{tag}.t",
                perm=perm,
            )

        q = heads(linear(h, f"{p}.attention.self.query"), "q", [0, 2, 1, 3])
        k = heads(linear(h, f"{p}.attention.self.key"), "k", [0, 2, 3, 1])
        v = heads(linear(h, f"{p}.attention.self.value"), "v", [0, 2, 1, 3])
        scores = g.op("Mul", [g.op("MatMul", [q, k], f"{p}.qk"), c_scale], f"{p}.scaled")
        masked = g.op("Add", [scores, additive], f"{p}.masked")
        probs = g.op("Softmax", [masked], f"{p}.sm", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{p}.ctx")
        ctx = g.op("Transpose", [ctx], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, c_merge], f"{p}.ctx.merge")
        attn = linear(ctx, f"{p}.attention.output.dense")
        h1 = layer_norm(g.op("Add", [attn, h], f"{p}.res1"), f"{p}.attention.output.LayerNorm")
        inter = linear(h1, f"{p}.intermediate.dense")
        # Exact GELU, 0.5 x (1 + erf(x / sqrt 2)): the form ONNX Runtime fuses into one kernel.
        erf = g.op("Erf", [g.op("Div", [inter, c_sqrt2], f"{p}.gelu.div")], f"{p}.gelu.erf")
        gelu = g.op("Mul", [inter, g.op("Add", [erf, c_onef], f"{p}.gelu.add")], f"{p}.gelu.mul")
        gelu = g.op("Mul", [gelu, c_half], f"{p}.gelu")
        out = linear(gelu, f"{p}.output.dense")
        h = layer_norm(g.op("Add", [out, h1], f"{p}.res2"), f"{p}.output.LayerNorm")

    # -- mean pooling over kept tokens, then L2 normalisation ------------------------------------
    mask3 = g.op("Unsqueeze", [mask_f, c_axm1], "pool.mask")  # [batch, seq, 1]
    masked_h = g.op("Mul", [h, mask3], "pool.masked")
    summed = g.op("ReduceSum", [masked_h, c_ax1], "pool.sum", keepdims=0)
    count = g.op("ReduceSum", [mask3, c_ax1], "pool.count", keepdims=0)
    mean = g.op("Div", [summed, g.op("Max", [count, c_count_eps], "pool.clamp")], "pool.mean")
    # Before opset 18, ReduceL2 takes its axes as an attribute (ReduceSum took them as input at 13).
    norm = g.op("ReduceL2", [mean], "norm.l2", axes=[-1], keepdims=1)
    emb = g.op("Div", [mean, g.op("Max", [norm, c_norm_eps], "norm.clamp")], "norm.div")
    g.nodes.append(helper.make_node("Identity", [emb], ["sentence_embedding"], name="output"))

    graph = helper.make_graph(
        g.nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [
            helper.make_tensor_value_info(
                "sentence_embedding", TensorProto.FLOAT, ["batch", shape.hidden]
            )
        ],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="safebot.nlu.bert_onnx",
        doc_string=doc,
    )
    model.ir_version = 8  # the IR that goes with opset 17; readable by older runtimes too
    return model
