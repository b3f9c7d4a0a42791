"""The export graph: the trained model, batch 1, with the GRU written out step by step.

Why not simply ``GRU(unroll=True)``? Unrolled, each of the T time steps gets
its own ``FULLY_CONNECTED`` op with a bias. Under full-integer quantisation a
bias is requantised per op (its scale is input scale x weight scale, and every
step's input scale differs), so the int8 file stores T copies of the 3U-wide
int32 bias, each with 3U per-channel scales and 64-bit zero points: for a
163k-parameter model that made the int8 file larger than the float one.

Here the graph is restructured, numerically identical to the trained model:

* the input projection ``x_t W + b`` of all T steps is ONE matmul over the
  ``(T, D)`` sequence, with one bias;
* each step's recurrent projection ``h W_rec`` is a bias-free matmul sharing
  one recurrent kernel; the recurrent biases of the update and reset gates are
  folded into the input bias, and the candidate's recurrent bias (which sits
  inside ``r * (.)``, Keras' ``reset_after=True``) is one shared vector.

With the plain unrolled GRU the int8 file came out larger than the float32
one; with this graph it is about a third of it (benchmarks/results/REPORT.md).
"""
from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from train.model import members_of


def _gru_weights(gru: keras.layers.GRU) -> dict[str, np.ndarray]:
    cell = gru.cell if hasattr(gru, "cell") else gru
    if not cell.reset_after or not cell.use_bias:
        raise ValueError("export supports GRU(reset_after=True, use_bias=True), the Keras default")
    if cell.activation is not keras.activations.tanh or cell.recurrent_activation is not keras.activations.sigmoid:
        raise ValueError("export supports GRU(activation='tanh', recurrent_activation='sigmoid')")
    kernel, recurrent, bias = (w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in cell.weights)
    units = recurrent.shape[0]
    in_bias, rec_bias = bias[0], bias[1]
    folded = in_bias.copy()
    folded[:2 * units] += rec_bias[:2 * units]       # z and r: plain sums, fold them
    return {"kernel": kernel, "recurrent": recurrent, "bias": folded,
            "rec_bias_h": rec_bias[2 * units:], "units": units}


def input_normalisation(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient ``(mean, std)`` of the model's ``Normalization`` layer.

    The exported graph starts after this layer: the device computes
    ``(mfcc - mean) / std`` in float before quantising the input. One int8
    scale for raw MFCCs (c0 spans hundreds of dB, c39 a few) would erase the
    higher coefficients; normalised, every coefficient gets the same resolution.
    The members of an ensemble share one normalisation (one training set).
    """
    stats = []
    for member in members_of(model):
        norm = member.get_layer("normalise")
        mean = np.asarray(norm.mean, dtype=np.float64).reshape(-1)
        var = np.asarray(norm.variance, dtype=np.float64).reshape(-1)
        stats.append((mean.astype(np.float32), np.sqrt(np.maximum(var, keras.backend.epsilon())).astype(np.float32)))
    mean, std = stats[0]
    if any(not (np.allclose(m, mean) and np.allclose(d, std)) for m, d in stats[1:]):
        raise ValueError("the ensemble's members normalise their input differently; train them on one training set")
    return mean, std


def _member_graph(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """``normalised mfcc (1, T, D) -> scores (1, classes)`` for one CNN-GRU-attention model.

    Per GRU step the graph holds about 16 tensors (one bias-free matmul on the
    shared recurrent kernel, one sigmoid for both gates, one tanh, the blend), which
    keeps the flatbuffer's per-tensor bookkeeping small next to the weights.
    """
    gru = model.get_layer("gru")
    names = [layer.name for layer in model.layers]
    front = model.layers[names.index("normalise") + 1:names.index("gru")]   # conv blocks
    attention, dense = model.get_layer("attention"), model.get_layer("emotion")
    w = _gru_weights(gru)
    u = w["units"]
    kernel_zr = tf.constant(w["kernel"][:, :2 * u], name="gru_kernel_zr")
    kernel_h = tf.constant(w["kernel"][:, 2 * u:], name="gru_kernel_h")
    bias_zr = tf.constant(w["bias"][:2 * u], name="gru_bias_zr")
    bias_h = tf.constant(w["bias"][2 * u:], name="gru_bias_h")
    # One bias-free matmul per step for all three gates, split afterwards. The split also keeps
    # the converter from fusing the candidate's recurrent bias into that matmul, which would
    # store a requantised int32 bias (with per-channel scales) once per time step.
    recurrent = tf.constant(w["recurrent"], name="gru_recurrent_kernel")
    rec_bias_h = tf.constant(w["rec_bias_h"][None], name="gru_recurrent_bias_h")

    def forward(mfcc: tf.Tensor) -> tf.Tensor:
        seq = mfcc
        for layer in front:
            seq = layer(seq, training=False)                   # (1, T, D) after the conv blocks
        steps = seq.shape[1]
        flat = tf.reshape(seq, (steps, -1))
        # Input projections of all steps at once: one matmul per gate group, one bias each.
        x_zr = tf.unstack(tf.reshape(tf.matmul(flat, kernel_zr) + bias_zr, (steps, 1, 2 * u)))
        x_h = tf.unstack(tf.reshape(tf.matmul(flat, kernel_h) + bias_h, (steps, 1, u)))
        outputs = []
        for t in range(steps):
            if t == 0:  # h = 0, so the recurrent projections vanish
                z, r = tf.split(tf.sigmoid(x_zr[0]), 2, axis=-1)
                candidate = tf.tanh(x_h[0] + r * rec_bias_h)
                h = candidate - z * candidate
            else:
                rec_zr, rec_h = tf.split(tf.matmul(h, recurrent), [2 * u, u], axis=-1)
                z, r = tf.split(tf.sigmoid(x_zr[t] + rec_zr), 2, axis=-1)
                candidate = tf.tanh(x_h[t] + r * (rec_h + rec_bias_h))
                h = candidate + z * (h - candidate)        # = z * h + (1 - z) * candidate
            outputs.append(h)
        sequence = tf.stack(outputs, axis=1)                   # (1, T, U)
        return dense(attention(sequence), training=False)

    return forward


def build_export_function(model: keras.Model) -> tf.types.experimental.ConcreteFunction:
    """A concrete ``tf.function`` ``(1, frames, n_mfcc) -> (1, classes)`` for the converter.

    Its input is the *normalised* MFCC, see :func:`input_normalisation`. An
    ensemble becomes the mean of its members' scores, as in Keras.
    """
    graphs = [_member_graph(member) for member in members_of(model)]
    frames, features = model.inputs[0].shape[1:]

    @tf.function(input_signature=[tf.TensorSpec((1, frames, features), tf.float32, name="mfcc")])
    def serve(mfcc):
        total = graphs[0](mfcc)
        for graph in graphs[1:]:
            total = total + graph(mfcc)    # ADD has int8 kernels; ADD_N (tf.add_n) has none
        return total if len(graphs) == 1 else total * (1.0 / len(graphs))

    return serve.get_concrete_function()
