"""The peers' models, built the way their libraries' own recipes build them.

keras-hub is an install requirement of keras_bertfam, so it is always a peer;
tf-models-official (`pip install -e .[bench]`, built on tf_keras, i.e. Keras 2) is one
when installed. Each builder takes the suite's shape dict (`L`, `H`, `A`, `I`, `V`,
...) and returns models of exactly that shape, so that every system computes the same
model; weights are random (they do not change the time).
"""

from __future__ import annotations

from benchmarks.optional import require

# all-MiniLM-L6-v2's shape: the fine-tuning and serving comparisons
MINILM = {"L": 6, "H": 384, "A": 12, "I": 1536, "V": 30522}


def available(system: str) -> bool:
    """Whether the library of a peer (`keras_hub`, `tf_models`) is installed."""
    from importlib.util import find_spec

    return find_spec({"tf_models": "official"}.get(system, system)) is not None


def keras_hub_pretrainer(c: dict, dropout: float = 0.1):
    """keras-hub's BertBackbone + MaskedLMHead (tied) + a Dense NSP head (dropout: the
    backbone's, keras-hub's default 0.1).

    Returns (pretrainer, encoder, (MLM output name, NSP output name)).
    """
    import keras
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=c["V"],
        num_layers=c["L"],
        num_heads=c["A"],
        hidden_dim=c["H"],
        intermediate_dim=c["I"],
        dropout=dropout,
    )
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
    out = backbone(dict(backbone.input))
    mlm = keras_hub.layers.MaskedLMHead(
        vocabulary_size=c["V"], token_embedding=backbone.token_embedding, activation=None
    )(out["sequence_output"], inputs["mask_positions"])
    nsp = keras.layers.Dense(2)(out["pooled_output"])
    model = keras.Model(inputs, {"mlm": mlm, "nsp": nsp})
    return model, backbone, ("mlm", "nsp")


def tf_models_pretrainer(c: dict):
    """tf-models-official's BertEncoderV2 + BertPretrainerV2 with an NSP head (tf_keras).

    Returns (pretrainer, encoder, (MLM output name, NSP output name)).
    """
    purpose = "the tf_models peer"
    layers = require("official.nlp.modeling.layers", purpose)
    models = require("official.nlp.modeling.models", purpose)
    networks = require("official.nlp.modeling.networks", purpose)

    encoder = networks.BertEncoderV2(
        vocab_size=c["V"],
        hidden_size=c["H"],
        num_layers=c["L"],
        num_attention_heads=c["A"],
        inner_dim=c["I"],
        max_sequence_length=512,
    )
    pretrainer = models.BertPretrainerV2(
        encoder_network=encoder,
        classification_heads=[
            layers.ClassificationHead(inner_dim=0, num_classes=2, name="next_sentence")
        ],
    )
    return pretrainer, encoder, ("lm_output", "next_sentence")


def tf_models_keras():
    """The Keras tf-models-official models are built with: tf_keras."""
    return require("tf_keras", "the tf_models peer")


def keras_hub_minilm_backbone():
    """keras-hub's `BertBackbone` in all-MiniLM-L6-v2's shape (random weights)."""
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=MINILM["V"],
        num_layers=MINILM["L"],
        num_heads=MINILM["A"],
        hidden_dim=MINILM["H"],
        intermediate_dim=MINILM["I"],
        max_sequence_length=512,
    )


def keras_hub_classifier(classes: int):
    """The MiniLM-shaped keras-hub backbone + masked mean pooling + dropout 0.1 + Dense.

    The same head as keras_bertfam's classification task model with mean pooling;
    one output, `logits`.
    """
    import keras

    backbone = keras_hub_minilm_backbone()
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
    }
    sequence = backbone(inputs)["sequence_output"]
    mask = keras.ops.cast(inputs["padding_mask"], "float32")[:, :, None]
    pooled = keras.ops.sum(sequence * mask, 1) / keras.ops.maximum(keras.ops.sum(mask, 1), 1e-9)
    logits = keras.layers.Dense(classes)(keras.layers.Dropout(0.1)(pooled))
    return keras.Model(inputs, {"logits": logits})


def keras_hub_masker(tokenizer, predictions: int):
    """keras-hub's `MaskedLMMaskGenerator` set up as keras_bertfam's masking is.

    15% of the tokens selected, at most `predictions`, never [CLS], [SEP] or padding;
    token-level only (keras-hub has no whole-word or n-gram masking).
    """
    import keras_hub

    special = tokenizer.special_ids
    return keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=tokenizer.vocabulary_size,
        mask_selection_rate=0.15,
        mask_token_id=special["mask"],
        mask_selection_length=predictions,
        unselectable_token_ids=[special["cls"], special["sep"], special["pad"]],
    )
