"""`Task`: what a fine-tuning task is, as one small protocol every task module implements.

A task reads its files, encodes them into features and targets, builds its head
on an encoder, scores predictions, and says what its exported model answers.
The fine-tuning recipe, `evaluate`, the task-model builder, both exporters and
the command line all go through the registry (`keras_bertfam.tasks.get`), so a
new task is one new module plus one line in `keras_bertfam/tasks/__init__.py`.

Example:

>>> from keras_bertfam import tasks
>>> task = tasks.get("classification")
>>> task.outputs, task.text_inputs({"pairs": True})
(('logits',), ('text', 'text_b'))
"""

from __future__ import annotations

from pathlib import Path


class Task:
    """The protocol of a fine-tuning task (see the module docstring).

    Attributes:
        name: the task's name (`--task NAME`).
        files: the file formats it reads, in words (for help texts).
        outputs: the task model's output names.
        exportable: whether a SavedModel can serve it.
        needs_num_classes: whether the head's width comes from the data (the
            number of labels or choices) rather than from the task.
        trimmer: how raw text is cut to the sequence length when served
            ("longest_first" or "keep_first", see `keras_bertfam.data.packing`).
        hf_head: the module that imports this task's head from Hugging Face
            checkpoints (its `task_head(checkpoint)` gives `build_task_model`'s
            arguments and the `labels`; its `HEAD`, the kind of head in
            `keras_bertfam.convert.hf_heads.HEADS`, which the Hugging Face
            export reads too), or None.
        packing: how the task trains on packed rows (`batching="pack"`):
            "slots" (one output per packed example, [batch, K, ...]), "tokens"
            (per-token outputs, [batch, seq, ...]), or None (not packable).
    """

    name = ""
    files = ""
    outputs: tuple[str, ...] = ()
    exportable = True
    needs_num_classes = True
    trimmer = "longest_first"
    hf_head: str | None = None
    packing: str | None = None

    # -- data -----------------------------------------------------------------------------
    def read(self, path: Path, header: str = "auto", labels=None) -> tuple[list[dict], bool]:
        """(rows, whether a header row was skipped) of a task file."""
        raise NotImplementedError

    def encode(self, rows, tokenizer, sequence_length: int, labels=None, path="data",
               doc_stride: int = 128) -> dict:  # fmt: skip
        """`{"features", "targets", "labels", "summary", ...}` of the rows read from `path`."""
        raise NotImplementedError

    def prepare(self, path, tokenizer, sequence_length: int, labels=None, header: str = "auto",
                doc_stride: int = 128) -> dict:  # fmt: skip
        """Read and encode a task file.

        Returns a dict with `rows` (as read), `features` ({token_ids,
        segment_ids} ragged lists), `targets` (a dict keyed by model output, or
        a (targets, sample_weights) pair), `labels` (class names, or None) and
        `summary` (what was read, to show the user: `{"path", "rows", "header",
        "labels": {label: count}, ...}`), plus what the task adds.
        """
        path = Path(path)
        rows, skipped = self.read(path, header, labels)
        prepared = {"rows": rows, "labels": None}
        prepared.update(self.encode(rows, tokenizer, sequence_length, labels, path, doc_stride))
        prepared["summary"] = {"path": str(path), "rows": len(rows), "header": skipped,
                               **prepared.get("summary", {})}  # fmt: skip
        return prepared

    def num_classes(self, prepared: dict) -> int | None:
        """The head's width for data prepared by `prepare` (None: the task fixes it)."""
        labels = prepared.get("labels")
        return len(labels) if labels else None

    def info(self, prepared: dict) -> dict:
        """What the fine-tuned model's `task.json` records beyond the task and labels."""
        return {}

    # -- model ----------------------------------------------------------------------------
    def model_inputs(self, num_classes, names=None):
        """(the task model's inputs, the encoder's inputs built from them); `names`: the
        encoder's input names (default `ENCODER_INPUTS`; packed encoders take
        `sequence_ids`)."""
        import keras

        from keras_bertfam.models.builders import ENCODER_INPUTS

        names = names or ENCODER_INPUTS
        inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in names}
        return inputs, inputs

    def uses_pooled_output(self, pooling: str) -> bool:
        """Whether the head reads the encoder's `pooled_output`."""
        return False

    def head(self, encoded: dict, inputs: dict, num_classes, pooling: str, head: dict) -> dict:
        """The head's outputs (KerasTensors by name) on the encoder's outputs.

        `inputs` are the encoder's inputs, `head` the `SentenceHead` arguments
        (dropout, initializer_range, init).
        """
        raise NotImplementedError

    def matches(self, model) -> bool:
        """Whether a built model is this task's (by its outputs and inputs)."""
        raise NotImplementedError

    # -- scoring --------------------------------------------------------------------------
    def score(self, outputs: dict, prepared: dict, labels, null_threshold=None):
        """(report, predictions) from the model's outputs, one array per example."""
        raise NotImplementedError

    # -- serving --------------------------------------------------------------------------
    def text_inputs(self, info: dict) -> tuple[str, ...]:
        """The raw-text inputs of the exported model's `serving_default`."""
        return ("text",)

    def serving_outputs(self, outputs: dict, padding_mask, segment_ids, labels) -> dict:
        """The exported model's outputs from the model's (TensorFlow ops)."""
        raise NotImplementedError

    def text_outputs(self, result: dict, token_ids, tokenizer) -> dict:
        """More outputs the raw-text signature can give (e.g. an answer's text)."""
        return {}


def pooled_features(encoded: dict, inputs: dict, pooling: str, slots: int = 0):
    """One vector per sequence: the pooler's output ("pooled"), or the first token /
    the masked mean of the sequence output ("cls" / "mean"); [batch, slots, H] for
    rows of `slots` packed sequences."""
    from keras_bertfam.layers import SequencePooling

    if pooling == "pooled":
        return encoded["pooled_output"]
    pooling_layer = SequencePooling(pooling, max_sequences=slots, name="pooling")
    if slots:
        return pooling_layer(encoded["sequence_output"], sequence_ids=inputs["sequence_ids"])
    return pooling_layer(encoded["sequence_output"], inputs["padding_mask"])
