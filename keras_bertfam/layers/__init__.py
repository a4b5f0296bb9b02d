"""Keras layers of the BERT family (all registered for `.keras` saving)."""

from keras_bertfam.layers.embeddings import EncoderEmbedding, TokenEmbedding
from keras_bertfam.layers.encoder_stack import EncoderStack
from keras_bertfam.layers.heads import (
    MaskedLMBias,
    MaskedLMHead,
    Pooler,
    SentenceHead,
    masked_lm_logits,
)
from keras_bertfam.layers.packing import PackedSequences
from keras_bertfam.layers.positions import PositionEmbedding, RotaryEmbedding
from keras_bertfam.layers.replace import ReplaceTokens
from keras_bertfam.layers.rtd_head import ReplacedTokenHead
from keras_bertfam.layers.task_heads import (
    FoldChoices,
    SequencePooling,
    SpanLogits,
    UnfoldChoices,
)
from keras_bertfam.layers.transformer import FeedForward, SelfAttention, TransformerEncoderBlock

__all__ = [
    "EncoderEmbedding",
    "EncoderStack",
    "FeedForward",
    "FoldChoices",
    "MaskedLMBias",
    "MaskedLMHead",
    "PackedSequences",
    "Pooler",
    "PositionEmbedding",
    "ReplaceTokens",
    "ReplacedTokenHead",
    "RotaryEmbedding",
    "SelfAttention",
    "SentenceHead",
    "SequencePooling",
    "SpanLogits",
    "TokenEmbedding",
    "TransformerEncoderBlock",
    "UnfoldChoices",
    "masked_lm_logits",
]
