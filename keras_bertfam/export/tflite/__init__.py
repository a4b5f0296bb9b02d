"""TFLite (LiteRT) export: token-id or raw-text models, four quantizations, a report.

`export_tflite(model, "model.tflite")` converts an encoder (`build_encoder`), a
pretrainer (its encoder part is exported, as for SavedModels) or any functional
model whose inputs carry the contract names `token_ids` / `segment_ids` /
`padding_mask` into a `.tflite` file with fixed int32 inputs
[batch_size, sequence_length] and the model's outputs (float32) under their names.

- Built-in TFLite ops only: no Flex (`SELECT_TF_OPS`). A graph that needs an op
  without a builtin kernel fails at conversion with the op names.
- `quantization`: "float32"; "float16" (weights stored as float16); "dynamic_int8"
  (int8 weights, float activations: about a quarter of the float32 file); "int8"
  (weights and activations, calibrated on `representative_data`, required).
- `tokenizer=`: a raw-text model. Its input is `text` (string [batch_size]); the
  tokenizer, truncation to `sequence_length - 2`, [CLS]/[SEP] and padding run in
  the model, which also returns `token_ids` and `padding_mask`. The tokenizer runs
  as tf.text TFLite custom ops (FastBertTokenizer for WordPiece vocabularies,
  FastSentencepieceTokenizer for SentencePiece); an interpreter must register
  them (`load_interpreter` does):

      from ai_edge_litert.interpreter import InterpreterWithCustomOps
      from tensorflow_text.core.pybinds import tflite_registrar
      interpreter = InterpreterWithCustomOps(
          model_path="model.tflite",
          custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS)

  On Android/iOS the app links tf.text's TFLite ops the same way. The ids equal
  those of the library tokenizer (hence of Hugging Face's) except where tf.text's
  fast normalizer differs from BERT's: it lower-cases with NFKC case folding where
  BERT uses `str.lower` + NFD, so compatibility characters (full-width forms,
  ligatures, super/subscripts, "ß", Roman numerals, "™") give other ids (7 of the
  20,073 lines of the bundled corpus); and for cased vocabularies it turns format
  characters such as U+200B into spaces where BERT drops them. Byte-level BPE
  (keras-hub) tokenizers have no TFLite kernel and are refused.

Weights are embedded (the converter freezes them); mixed-precision models are
exported as float32 copies (bfloat16 has no TFLite kernels, and the erf GELU
becomes a non-builtin Erfc there). The exact GELU becomes TFLite's builtin GELU
in float32. The assertions of `keras_bertfam.layers.checks` are dropped by the
converter; its NaN poisoning converts to builtin ops and is kept: TFLite's GATHER
refuses ids >= vocabulary_size (and < -vocabulary_size) but takes -1, -2, ...,
which the poisoning turns into NaN outputs (float models; int8 cannot hold NaN).

Full int8 is TFLite's post-training integer quantization, and trained BERT-family
weights do not survive it: on all-MiniLM-L6-v2 the sentence embedding keeps a
cosine of 0.15-0.3 to the float model (dynamic_int8: 0.998). Two causes, measured:
the attention mask's -1e9 shares the int8 scale of the attention scores (scale
~4e6, so every score rounds to the same value), and the residual stream's
outlier dimensions leave little int8 resolution for the rest (with the attention
kept in float the cosine is still ~0.7). `export_tflite` warns when a quantized
file's cosine in its report is below 0.99; use "dynamic_int8" for real models.

With `report=True` (default) the file is measured with ai-edge-litert: size,
median latency (one thread, after warm-up) and agreement with the Keras model
on the same inputs; the report is returned and written next to the file as
`<name>.report.json`. `print_report` shows it as a table.

Modules: `convert` (`export_tflite`, the converter), `model` (the exported part,
in float32), `ops` (op listing, the builtin-only check), `text` (the raw-text
tokenizer and packing), `calibration` (representative data, samples), `report`
(interpreter, measures, table).

Example:

>>> import tempfile, os
>>> import keras_bertfam as bf
>>> from keras_bertfam.export import export_tflite
>>> model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=200)
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.tflite")
>>> report = export_tflite(model, path, sequence_length=16, runs=3)
>>> report["inputs"], report["outputs"]
(['padding_mask', 'segment_ids', 'token_ids'], ['pooled_output', 'sequence_output'])
>>> report["max_abs_diff"]["sequence_output"] < 1e-4, report["flex_ops"]
(True, [])
"""

from keras_bertfam.export.tflite.calibration import (
    MAX_CALIBRATION_ROWS,
    SAMPLE_TEXTS,
    representative_batches,
    sample_inputs,
)
from keras_bertfam.export.tflite.convert import QUANTIZATIONS, export_tflite
from keras_bertfam.export.tflite.model import exported_part, float32_model, model_input_names
from keras_bertfam.export.tflite.ops import TFTEXT_CUSTOM_OPS, TFLiteConversionError, tflite_ops
from keras_bertfam.export.tflite.report import (
    format_report,
    load_interpreter,
    print_report,
    report_path,
    tflite_report,
)
from keras_bertfam.export.tflite.text import pack_texts, text_packer

__all__ = [
    "MAX_CALIBRATION_ROWS",
    "QUANTIZATIONS",
    "SAMPLE_TEXTS",
    "TFTEXT_CUSTOM_OPS",
    "TFLiteConversionError",
    "export_tflite",
    "exported_part",
    "float32_model",
    "format_report",
    "load_interpreter",
    "model_input_names",
    "pack_texts",
    "print_report",
    "report_path",
    "representative_batches",
    "sample_inputs",
    "text_packer",
    "tflite_ops",
    "tflite_report",
]
