"""keras_bertfam: BERT, ALBERT, RoBERTa and their hybrids as Keras layers and models.

>>> import keras_bertfam as bf
>>> bf.get_preset("bert_tiny").hidden_dim
128
>>> encoder = bf.build_encoder("bert_tiny")
>>> encoder.count_params()
4385920

The model builders (and with them Keras) are imported on first use, so
`bertfam info` and config work stay fast. Keras runs on the backend its own
configuration names (`KERAS_BACKEND`, else `~/.keras/keras.json`, else
TensorFlow): the model side runs on TensorFlow, JAX and PyTorch alike, and what
needs TensorFlow says so (`keras_bertfam.requires`).

Every `.keras` file keras_bertfam writes loads with `keras.saving.load_model`
once `keras_bertfam` is imported, before or after Keras: when Keras is
imported, each registered keras_bertfam class (`keras_bertfam>Name`) gets an
entry in Keras' registry that imports its module the first time a file needs
it, so importing keras_bertfam imports neither Keras nor TensorFlow, and the
registration imports nothing while Keras itself is being imported.
`bf.load_model(path)` does the same with clear errors for missing, truncated
or corrupt files.
"""

from keras_bertfam.models.config import ConfigError, EncoderConfig
from keras_bertfam.models.presets import get_preset, list_presets, resolve_config

__version__ = "0.1.0"

# name -> module; imported on first use (they import Keras / TensorFlow).
_LAZY = {
    "build_encoder": "keras_bertfam.models.builders",
    "build_pretrainer": "keras_bertfam.models.builders",
    "from_pretrained": "keras_bertfam.convert.importer",
    "load_model": "keras_bertfam.models.saving",
    "BertfamModel": "keras_bertfam.models.model",
    "Encoder": "keras_bertfam.models.encoder",
    "Pretrainer": "keras_bertfam.models.encoder",
    "CheckpointError": "keras_bertfam.convert.checkpoint",
    "load_tokenizer": "keras_bertfam.data.tokenizers",
}

# Every class registered as "keras_bertfam>Name" (`@register`), and its module.
KERAS_OBJECTS = {
    "TokenEmbedding": "keras_bertfam.layers.embeddings",
    "EncoderEmbedding": "keras_bertfam.layers.embeddings",
    "EncoderStack": "keras_bertfam.layers.encoder_stack",
    "Pooler": "keras_bertfam.layers.heads",
    "MaskedLMHead": "keras_bertfam.layers.heads",
    "MaskedLMBias": "keras_bertfam.layers.heads",
    "SentenceHead": "keras_bertfam.layers.heads",
    "ReplacedTokenHead": "keras_bertfam.layers.rtd_head",
    "ReplaceTokens": "keras_bertfam.layers.replace",
    "SequencePooling": "keras_bertfam.layers.task_heads",
    "SpanLogits": "keras_bertfam.layers.task_heads",
    "FoldChoices": "keras_bertfam.layers.task_heads",
    "UnfoldChoices": "keras_bertfam.layers.task_heads",
    "SelfAttention": "keras_bertfam.layers.attention",
    "FeedForward": "keras_bertfam.layers.feedforward",
    "PositionEmbedding": "keras_bertfam.layers.positions",
    "RotaryEmbedding": "keras_bertfam.layers.positions",
    "PackedSequences": "keras_bertfam.layers.packing",
    "TransformerEncoderBlock": "keras_bertfam.layers.transformer",
    "BertfamModel": "keras_bertfam.models.model",
    "Encoder": "keras_bertfam.models.encoder",
    "Pretrainer": "keras_bertfam.models.encoder",
    "ElectraPretrainer": "keras_bertfam.models.electra",
    "WarmupPolynomialDecay": "keras_bertfam.training.optimizers",
    "WarmupStableDecay": "keras_bertfam.training.schedules",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_bertfam' has no attribute {name!r}")


def _lazy_entry(name: str, module: str):
    """A stand-in for class `name` in Keras' registry: its `from_config` imports
    `module` (which registers the real class in its place) and delegates to it."""

    def real():
        import importlib

        return getattr(importlib.import_module(module), name)

    def from_config(cls, config, *args, **kwargs):
        return real().from_config(config, *args, **kwargs)

    def get_config(self):  # register_keras_serializable asks for one
        raise TypeError(f"{name} stand-in: instances come from {module}.{name}")

    return type(
        name,
        (),
        {
            "__module__": module,
            "__doc__": f"Imports {module} and builds {name} from a saved config.",
            "from_config": classmethod(from_config),
            "get_config": get_config,
        },
    )


def register_keras_objects(keras_module=None):
    """Give every keras_bertfam class an entry in Keras' registry (imports nothing).

    Called when Keras is imported (or at once if it already is). A class whose
    module is already imported keeps its own entry; the others get a stand-in
    that imports their module on first use, so that registering is safe at any
    point of any import, even one that Keras makes while TensorFlow or a module
    of keras_bertfam is itself still being imported.
    """
    import sys

    keras = keras_module or sys.modules["keras"]
    for name, module in KERAS_OBJECTS.items():
        key = f"keras_bertfam>{name}"
        if keras.saving.get_registered_object(key) is None:
            keras.saving.register_keras_serializable("keras_bertfam", name)(
                _lazy_entry(name, module)
            )


def _on_keras_import(keras_module):
    try:
        register_keras_objects(keras_module)
    except Exception as err:  # never break `import keras`; bf.load_model registers again
        import warnings

        warnings.warn(
            f"keras_bertfam could not register its Keras classes ({err!r}); "
            "load its .keras files with keras_bertfam.load_model",
            stacklevel=2,
        )


def _install_registration():
    import wrapt

    # runs the hook now if Keras is already imported, else right after its import
    wrapt.register_post_import_hook(_on_keras_import, "keras")


_install_registration()

__all__ = [
    "BertfamModel",
    "CheckpointError",
    "ConfigError",
    "Encoder",
    "EncoderConfig",
    "Pretrainer",
    "build_encoder",
    "build_pretrainer",
    "from_pretrained",
    "get_preset",
    "list_presets",
    "load_model",
    "load_tokenizer",
    "resolve_config",
]
