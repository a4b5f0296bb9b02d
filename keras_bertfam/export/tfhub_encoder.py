"""The TF-Hub encoder: a reusable SavedModel object that owns the model's variables.

Following the TF-Hub text API for Transformer encoders
(tensorflow/hub `docs/common_saved_model_apis/text.md`), the object is callable as
`encoder(inputs, training=False)` on a dict of int32 [batch, seq] tensors
`input_word_ids`, `input_mask`, `input_type_ids` and returns a dict:

- `sequence_output` [batch, seq, H] and `pooled_output` [batch, H], as the Keras
  encoder computes them (`default` is `pooled_output`; a model without a pooler
  gives the first token's final hidden state there);
- `encoder_outputs`: a list of L tensors [batch, seq, H], the output of each of
  the L layers (for ALBERT's inner groups, of each outer layer). For post-norm
  stacks (BERT, ALBERT, RoBERTa) the last equals `sequence_output`; for pre-norm
  ones (ModernBERT) `sequence_output` is the last one after the final norm.

It has `variables`, `trainable_variables` and `regularization_losses`, so that
`hub.KerasLayer(path, trainable=True)` fine-tunes it; dropout runs when
`training=True`. A pretrainer's export also has `mlm`, itself a reusable object:
`encoder.mlm(inputs)` with `masked_lm_positions` int32 [batch, P] added to the
inputs returns the same dict plus `mlm_logits` [batch, P, V].
"""

from __future__ import annotations

from keras_bertfam.models.builders import encoder_of

INPUTS = ("input_word_ids", "input_mask", "input_type_ids")


def layer_outputs(encoder):
    """A function (encoder inputs, training) -> (sequence_output, pooled_output, per-layer
    outputs) that runs the Keras encoder's own layers and weights block by block."""
    import keras

    from keras_bertfam.layers.common import padding_to_attention_mask

    stack = encoder.get_layer("encoder")
    embed = keras.Model(encoder.input, stack.input[0])  # the same layers, up to the stack
    pooler = encoder.get_layer("pooler")
    blocks = list(zip(stack.attention_plan, stack.feedforward_plan, stack.layer_windows,
                      stack.layer_thetas, strict=True))  # fmt: skip

    def run(inputs, training):
        x = embed(inputs, training=training)
        mask = padding_to_attention_mask(inputs["padding_mask"])
        outputs = []
        for index, (a, f, window, theta) in enumerate(blocks):
            x = stack.attention_layers[a](x, mask, training=training, local_window=window,
                                          rotary_theta=theta)  # fmt: skip
            x = stack.feedforward_layers[f](x, training=training)
            if (index + 1) % stack.inner_group_size == 0:
                outputs.append(x)
        if stack.final_layer_norm is not None:
            x = stack.final_layer_norm(x)
        return x, pooler(x), outputs

    return run


def _model_inputs(encoder, inputs):
    import tensorflow as tf

    given = {"token_ids": inputs["input_word_ids"], "padding_mask": inputs["input_mask"],
             "segment_ids": inputs["input_type_ids"]}  # fmt: skip
    return {n: tf.cast(given[n], tf.int32) for n in encoder.input}


def _float32(tensor):
    import tensorflow as tf

    return tf.cast(tensor, tf.float32)


def _reusable(call, spec, variables, trainable_variables):
    """A trackable object: `__call__` traced for training False and True, its variables."""
    import tensorflow as tf

    obj = tf.train.Checkpoint()
    obj.__call__ = tf.function(call)
    for training in (False, True):
        obj.__call__.get_concrete_function(spec, training=training)
    obj.variables = list(variables)
    obj.trainable_variables = list(trainable_variables)
    obj.regularization_losses = []  # the encoder has no weight regularizers
    return obj


def encoder_module(model):
    """The TF-Hub encoder object of a Keras encoder, pretrainer or task model (its
    encoder); a pretrainer's also has `mlm`."""
    import tensorflow as tf

    encoder = encoder_of(model)
    run = layer_outputs(encoder)
    spec = {n: tf.TensorSpec([None, None], tf.int32, name=n) for n in INPUTS}

    def outputs(inputs, training):
        sequence, pooled, layers = run(_model_inputs(encoder, inputs), training)
        pooled = _float32(pooled)
        return {"sequence_output": _float32(sequence), "pooled_output": pooled,
                "default": pooled, "encoder_outputs": [_float32(x) for x in layers]}  # fmt: skip

    def call(inputs, training=False):
        return outputs(inputs, training)

    obj = _reusable(call, spec, encoder.variables, encoder.trainable_variables)
    if "mlm_logits" in model.output:
        obj.mlm = _mlm_module(model, encoder, outputs, spec)
    return obj


def _mlm_module(pretrainer, encoder, outputs, spec):
    """`encoder.mlm`: the encoder's outputs plus `mlm_logits` at `masked_lm_positions`."""
    import tensorflow as tf

    spec = {**spec, "masked_lm_positions": tf.TensorSpec([None, None], tf.int32,
                                                         name="masked_lm_positions")}  # fmt: skip
    names = [n for n in pretrainer.input if n != "mask_positions"]

    def call(inputs, training=False):
        result = outputs(inputs, training)
        x = _model_inputs(encoder, inputs)
        x = {n: x[n] for n in names}
        x["mask_positions"] = tf.cast(inputs["masked_lm_positions"], tf.int32)
        result["mlm_logits"] = _float32(pretrainer(x, training=training)["mlm_logits"])
        return result

    return _reusable(call, spec, pretrainer.variables, pretrainer.trainable_variables)
