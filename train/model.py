"""The CNN-GRU-attention emotion model (Keras 3) and its batch-1 export twin."""
from __future__ import annotations

import copy

import keras
import numpy as np
from keras import layers, ops

from .hparams import ModelConfig


@keras.saving.register_keras_serializable(package="ser")
class AttentionPooling(layers.Layer):
    """Additive attention over time: ``softmax_t(v . tanh(W h_t + b))``-weighted sum of ``h_t``.

    Input ``(batch, time, features)``, output ``(batch, features)``.
    """

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        d = input_shape[-1]
        self.w = self.add_weight(name="w", shape=(d, self.units), initializer="glorot_uniform")
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")
        self.v = self.add_weight(name="v", shape=(self.units, 1), initializer="glorot_uniform")

    def call(self, h):
        scores = ops.matmul(ops.tanh(ops.matmul(h, self.w) + self.b), self.v)  # (B, T, 1)
        weights = ops.softmax(scores, axis=1)
        return ops.sum(weights * h, axis=1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


CUSTOM_OBJECTS = {"AttentionPooling": AttentionPooling}


def build_model(n_frames: int, n_mfcc: int, n_classes: int, config: ModelConfig,
                mean: np.ndarray, variance: np.ndarray, batch_size=None, unroll: bool = False,
                name: str = "cnn_gru_attention") -> keras.Model:
    """Two Conv1D blocks, one GRU, attention pooling, dense softmax.

    ``mean``/``variance`` (per MFCC coefficient, from the training features)
    are baked into a ``Normalization`` layer, so the model takes raw MFCCs.
    """
    reg = keras.regularizers.L2(config.l2) if config.l2 else None
    inp = keras.Input((n_frames, n_mfcc), batch_size=batch_size, name="mfcc")
    x = layers.Normalization(axis=-1, mean=mean, variance=variance, name="normalise")(inp)
    if config.input_dropout:
        x = layers.SpatialDropout1D(config.input_dropout, name="coef_dropout")(x)
    blocks = zip(config.conv_filters, config.kernel_sizes, config.pool_sizes)
    for i, (filters, kernel, pool) in enumerate(blocks, start=1):
        x = layers.Conv1D(filters, kernel, padding="same", kernel_regularizer=reg, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling1D(pool, name=f"pool{i}")(x)
        x = layers.Dropout(config.conv_dropout, name=f"drop{i}")(x)
    x = layers.GRU(config.gru_units, return_sequences=True, unroll=unroll, kernel_regularizer=reg,
                   name="gru")(x)
    x = AttentionPooling(config.attention_units, name="attention")(x)
    x = layers.Dropout(config.dense_dropout, name="drop_dense")(x)
    out = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inp, out, name=name)


def ensemble_model(members: list[keras.Model]) -> keras.Model:
    """One model whose scores are the mean of its members' (same input, same labels).

    >>> cfg = ModelConfig(conv_filters=(8, 8), gru_units=8, attention_units=4)
    >>> ms = [build_model(200, 40, 8, cfg, np.zeros(40), np.ones(40), name=f"member{k}") for k in (1, 2)]
    >>> x = np.random.default_rng(0).normal(size=(2, 200, 40)).astype("float32")
    >>> bool(np.allclose(ensemble_model(ms).predict(x, verbose=0), (ms[0](x) + ms[1](x)) / 2, atol=1e-6))
    True
    """
    if len(members) == 1:
        return members[0]
    inp = keras.Input(members[0].inputs[0].shape[1:], batch_size=members[0].inputs[0].shape[0], name="mfcc")
    out = layers.Average(name="mean_scores")([member(inp) for member in members])
    return keras.Model(inp, out, name="ensemble")


def members_of(model: keras.Model) -> list[keras.Model]:
    """The CNN-GRU-attention models inside ``model``: its members if it is an ensemble, else itself."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested or [model]


def export_twin(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with a fixed batch of 1 and an unrolled GRU, same weights.

    The looped GRU cannot be converted to builtin-op int8 TFLite (TensorFlow
    issues 62281, 75140); the unrolled, batch-1 twin can.
    """
    def rewrite(cfg: dict) -> None:
        for layer in cfg["layers"]:
            if layer["class_name"] == "InputLayer":
                layer["config"]["batch_shape"] = [1, *layer["config"]["batch_shape"][1:]]
            elif layer["class_name"] == "GRU":
                layer["config"]["unroll"] = True
            elif "layers" in layer.get("config", {}):        # an ensemble's member
                rewrite(layer["config"])

    cfg = copy.deepcopy(model.get_config())
    rewrite(cfg)
    twin = keras.Model.from_config(cfg, custom_objects=CUSTOM_OBJECTS)
    twin.set_weights(model.get_weights())
    return twin


def load_model(path) -> keras.Model:
    """Load a ``.keras`` file written by the trainer (registers the custom layer)."""
    return keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS)


def save_for_inference(model: keras.Model, path) -> None:
    """Save architecture and weights only (no optimizer state: about a third of the size).

    An ensemble's members are rebuilt one by one: a trained member nested as it
    is would still carry its optimizer's slots into the file.
    """
    clean = []
    for member in members_of(model):
        copy_ = keras.Model.from_config(member.get_config(), custom_objects=CUSTOM_OBJECTS)
        copy_.set_weights(member.get_weights())
        clean.append(copy_)
    ensemble_model(clean).save(path)
