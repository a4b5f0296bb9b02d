"""Export: SavedModels for TF Serving (raw-text and token-id signatures) and TFLite files."""

from keras_bertfam.export.saved_model import encoder_of, export_saved_model
from keras_bertfam.export.tflite import (
    QUANTIZATIONS,
    TFLiteConversionError,
    export_tflite,
    format_report,
    load_interpreter,
    print_report,
    tflite_ops,
    tflite_report,
)

__all__ = [
    "QUANTIZATIONS",
    "TFLiteConversionError",
    "encoder_of",
    "export_saved_model",
    "export_tflite",
    "format_report",
    "load_interpreter",
    "print_report",
    "tflite_ops",
    "tflite_report",
]
