"""The operators of a `.tflite` file, and the check that a converted model has builtins only.

`tflite_ops` reads the flatbuffer (a path or bytes) and lists the builtin
operator names ("GELU", "FULLY_CONNECTED", ...) and the codes of custom ops
("FlexErf" for a Flex op; tf.text's tokenizer kernels in a raw-text model).

Example:

>>> import tensorflow as tf
>>> from keras_bertfam.export.tflite import tflite_ops
>>> f = tf.function(lambda x: tf.nn.relu(x) + 1.0, input_signature=[tf.TensorSpec([1, 4])])
>>> content = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()]).convert()
>>> tflite_ops(content)
['ADD', 'RELU']
"""

from __future__ import annotations

from pathlib import Path

from keras_bertfam.errors import BertfamError

# tf.text ops with TFLite kernels that a raw-text model may contain (names as the
# converter writes them); tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS adds them.
TFTEXT_CUSTOM_OPS = frozenset(
    {
        "FastBertNormalize",
        "FastWordpieceTokenizeWithOffsets",
        "TFText>FastSentencepieceTokenize",
    }
)


class TFLiteConversionError(BertfamError, RuntimeError):
    """The model cannot become a builtin-ops TFLite model (the message names the ops)."""


def tflite_ops(model) -> list[str]:
    """Operator names used by a `.tflite` file or bytes: builtin names (e.g. "GELU") and
    the codes of custom ops ("FlexErf" for a Flex op, "FastBertNormalize", ...)."""
    builtins, custom = _used_ops(model)
    return sorted(builtins | custom)


def _flex_ops(ops: list[str]) -> list[str]:
    """The Flex (SELECT_TF_OPS) ops among `ops`."""
    return [o for o in ops if o.startswith("Flex")]


def _content(model) -> bytes:
    """The flatbuffer of a `.tflite` path or bytes."""
    return Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)


def _check_ops(content: bytes, allow_text_ops: bool):
    """Raise `TFLiteConversionError` unless `content` uses builtin ops only (and, with
    `allow_text_ops`, tf.text's TFLite kernels) and has its weights embedded."""
    builtins, custom = _used_ops(content)
    allowed = TFTEXT_CUSTOM_OPS if allow_text_ops else frozenset()
    if custom - allowed:
        raise TFLiteConversionError(
            f"the converted model contains non-builtin ops {sorted(custom - allowed)}; "
            "export_tflite allows builtin ops only (no Flex), and for raw-text models "
            f"tf.text's TFLite kernels {sorted(TFTEXT_CUSTOM_OPS)}"
        )
    if {"VAR_HANDLE", "READ_VARIABLE"} & builtins:
        raise TFLiteConversionError(
            "the converted model reads resource variables: its weights were not embedded"
        )


def _used_ops(model) -> tuple[set, set]:
    from ai_edge_litert import schema_py_generated as schema

    content = _content(model)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    flat = schema.Model.GetRootAsModel(content, 0)
    codes = []
    for i in range(flat.OperatorCodesLength()):
        code = flat.OperatorCodes(i)
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == schema.BuiltinOperator.CUSTOM:
            codes.append((code.CustomCode().decode(), True))
        else:
            codes.append((names.get(number, f"BUILTIN_{number}"), False))
    builtins, custom = set(), set()
    for s in range(flat.SubgraphsLength()):
        graph = flat.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            name, is_custom = codes[graph.Operators(o).OpcodeIndex()]
            (custom if is_custom else builtins).add(name)
    return builtins, custom
