"""The position-wise feed-forward network: BERT's dense one, or gated (GeGLU, SwiGLU).

- "dense" (BERT, ALBERT, RoBERTa): `Wo(act(Wi x))`, Wi of width intermediate_dim;
- "geglu" (ModernBERT) and "swiglu" (NeoBERT; Shazeer 2020,
  https://arxiv.org/abs/2002.05202): one fused input projection of width
  2 * intermediate_dim split into (input, gate), then `Wo(act(input) * gate)`, act
  GELU or SiLU. The fused matrix is ModernBERT's `Wi`, in the same order.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import FeedForward
>>> ffn = FeedForward(intermediate_dim=32, kind="geglu", norm_first=True, use_bias=False)
>>> tuple(ffn(np.random.rand(1, 4, 8).astype("float32")).shape)
(1, 4, 8)
>>> tuple(ffn.intermediate.kernel.shape)
(8, 64)
"""

from __future__ import annotations

from keras import ops

from keras_bertfam.kinds import FEEDFORWARDS
from keras_bertfam.layers.common import activation, register
from keras_bertfam.layers.residual import Residual
from keras_bertfam.validate import require_choice

GATE_ACTIVATIONS = {"geglu": "gelu", "swiglu": "silu"}


@register
class FeedForward(Residual):
    """The feed-forward network with residual, dropout and a norm.

    Args:
        intermediate_dim: int. Inner width (of each half, for a gated network).
        activation: str, default "gelu". A config activation name ("gelu" is
            exact, "gelu_approximate" the tanh form, "relu", "silu", "tanh"), for
            `kind="dense"`; the gated kinds use GELU (geglu) or SiLU (swiglu).
        kind: str, default "dense". "dense", "geglu" or "swiglu".
        dropout: float, default 0.1. Dropout rate on the sublayer's output,
            before the residual sum.
        layer_norm_epsilon: float, default 1e-12. The norm's epsilon.
        norm_first: bool, default False. False: post-norm, `N(x + f(x))`
            (BERT); True: pre-norm, `x + f(N(x))`.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer of the Dense kernels.
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. Biases in the Dense layers and the LayerNorm.
        use_norm: bool, default True. False leaves out the norm of a pre-norm
            sublayer.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, H] float; the attention's arguments (`attention_mask`,
            `rotary_theta`, `local_window`) are accepted and ignored.

    Returns:
        [batch, seq, H].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import FeedForward
    >>> ffn = FeedForward(intermediate_dim=32, norm_first=True)
    >>> tuple(ffn(np.random.rand(1, 4, 8).astype("float32")).shape)
    (1, 4, 8)
    >>> [tuple(w.shape) for w in ffn.intermediate.weights]
    [(8, 32), (32,)]
    """

    def __init__(self, intermediate_dim, activation="gelu", kind="dense", **kwargs):
        super().__init__(**kwargs)
        require_choice("kind", kind, FEEDFORWARDS)
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.kind = kind

    def build_transform(self, input_shape):
        gated = self.kind != "dense"
        self.intermediate = self._dense(
            self.intermediate_dim * (2 if gated else 1),
            "intermediate",
            input_shape,
            None if gated else activation(self.activation),
        )
        self.output_dense = self._dense(
            input_shape[-1], "output", (*input_shape[:-1], self.intermediate_dim)
        )

    def transform(self, x, attention_mask, training, rotary_theta=None, local_window=None):
        h = self.intermediate(x)
        if self.kind != "dense":
            value, gate = ops.split(h, 2, axis=-1)
            h = activation(GATE_ACTIVATIONS[self.kind])(value) * gate
        return self.output_dense(h)

    def get_config(self):
        config = super().get_config()
        config.update(
            intermediate_dim=self.intermediate_dim, activation=self.activation, kind=self.kind
        )
        return config
