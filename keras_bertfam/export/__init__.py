"""Export: SavedModels for TF Serving (raw-text and token-id signatures)."""

from keras_bertfam.export.saved_model import encoder_of, export_saved_model

__all__ = ["encoder_of", "export_saved_model"]
