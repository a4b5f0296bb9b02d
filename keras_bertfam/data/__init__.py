"""The pretraining data pipeline: tokenizers, documents, sequences, masking, tf.data."""

from keras_bertfam.data.corpus import CorpusError, CorpusStats, read_documents
from keras_bertfam.data.instances import Instance, make_instances
from keras_bertfam.data.masking import MaskingConfig, mask_batch
from keras_bertfam.data.pipeline import (
    DataConfig,
    iter_instances,
    mask_dataset,
    pretraining_dataset,
    to_fit_format,
    unmasked_dataset,
)
from keras_bertfam.data.tokenizers import Tokenizer, TokenizerError, find_tokenizer, load_tokenizer

__all__ = [
    "CorpusError",
    "CorpusStats",
    "DataConfig",
    "Instance",
    "MaskingConfig",
    "Tokenizer",
    "TokenizerError",
    "find_tokenizer",
    "iter_instances",
    "load_tokenizer",
    "make_instances",
    "mask_batch",
    "mask_dataset",
    "pretraining_dataset",
    "read_documents",
    "to_fit_format",
    "unmasked_dataset",
]
