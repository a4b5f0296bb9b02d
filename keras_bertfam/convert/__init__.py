"""Import checkpoints: Hugging Face safetensors folders and Google's TF1 checkpoints."""

from keras_bertfam.convert.checkpoint import Checkpoint, CheckpointError, read_checkpoint
from keras_bertfam.convert.importer import from_pretrained, load_into

__all__ = ["Checkpoint", "CheckpointError", "from_pretrained", "load_into", "read_checkpoint"]
