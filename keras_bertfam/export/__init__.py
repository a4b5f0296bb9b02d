"""Export: SavedModels for TF Serving (raw-text and token-id signatures), TF-Hub SavedModels
(a preprocessor and a fine-tunable encoder), TFLite files and Hugging Face folders.

The names below are imported on first use (they import Keras and TensorFlow).
"""

import importlib

_LAZY = {
    "encoder_of": "keras_bertfam.export.saved_model",
    "export_saved_model": "keras_bertfam.export.saved_model",
    "export_folder": "keras_bertfam.export.folder",
    "export_tfhub": "keras_bertfam.export.tfhub",
    "export_huggingface": "keras_bertfam.export.huggingface",
    "QUANTIZATIONS": "keras_bertfam.export.tflite",
    "TFLiteConversionError": "keras_bertfam.export.tflite",
    "export_tflite": "keras_bertfam.export.tflite",
    "format_report": "keras_bertfam.export.tflite",
    "load_interpreter": "keras_bertfam.export.tflite",
    "print_report": "keras_bertfam.export.tflite",
    "tflite_ops": "keras_bertfam.export.tflite",
    "tflite_report": "keras_bertfam.export.tflite",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_bertfam.export' has no attribute {name!r}")


__all__ = sorted(_LAZY)
