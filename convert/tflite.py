"""Float32 and full-integer int8 TFLite conversion, builtin ops only, with an op audit."""
from __future__ import annotations

import contextlib
import io
from collections import Counter
from typing import Callable, Iterable

import numpy as np
import tensorflow as tf

#: Variants the converter can write, and the file each goes to.
VARIANTS = {
    "float32": "model_float32.tflite",
    "int8": "model_int8.tflite",
    "float16": "model_float16.tflite",            # optional: float16 weights, float compute
    "dynamic": "model_dynamic_range.tflite",      # optional: int8 weights, float activations
}


class ConversionError(RuntimeError):
    """The converter produced something the device cannot run as required."""


def convert(fn, variant: str, representative: Callable[[], Iterable[list[np.ndarray]]] | None = None) -> bytes:
    """Convert a concrete function to one :data:`VARIANTS` flavour; returns the flatbuffer."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "int8":
        if representative is None:
            raise ValueError("int8 conversion needs a representative dataset")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant != "float32":
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return compact(converter.convert())


def compact(flatbuffer: bytes) -> bytes:
    """Remove bookkeeping the runtime never reads; weights and ops are untouched.

    * tensor and signature names (debug strings);
    * the empty buffer the converter gives every activation tensor: they all
      point at buffer 0, the schema's shared empty buffer, instead.

    With a few hundred tensors (one GRU step is ~16), this bookkeeping is a
    sizeable share of an int8 file. Inputs and outputs are found by index.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    flatbuffer_utils.strip_strings(model)
    def has_data(i: int) -> bool:
        data = model.buffers[i].data
        return data is not None and len(data) > 0
    keep = [0] + [i for i in range(1, len(model.buffers)) if has_data(i)]
    new_index = {old: new for new, old in enumerate(keep)}
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            tensor.buffer = new_index.get(tensor.buffer, 0)
    for entry in model.metadata or []:
        entry.buffer = new_index[entry.buffer]
    model.buffers = [model.buffers[i] for i in keep]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def op_listing(flatbuffer: bytes) -> str:
    """The text of ``tf.lite.experimental.Analyzer`` for a model (ops, tensors, types)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tf.lite.experimental.Analyzer.analyze(model_content=flatbuffer)
    return buffer.getvalue()


def audit(flatbuffer: bytes, full_integer: bool) -> dict:
    """Op counts and tensor types; raises :class:`ConversionError` on Flex/custom ops,
    or (``full_integer``) on any float tensor left in the graph."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    ops = Counter(op["op_name"] for op in interpreter._get_ops_details())
    foreign = sorted(name for name in ops if name.startswith("Flex") or name in ("CUSTOM", "DELEGATE"))
    if foreign:
        raise ConversionError(f"non-builtin ops in the model: {', '.join(foreign)}")
    types = Counter(np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details())
    if full_integer and types.get("float32", 0):
        floats = [t["name"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32]
        raise ConversionError(f"{len(floats)} float32 tensor(s) left in the int8 model, e.g. {floats[0]}")
    return {"ops": dict(sorted(ops.items())), "tensor_types": dict(sorted(types.items())),
            "n_tensors": sum(types.values())}
