"""train: full-precision TensorFlow/Keras training of the speech emotion model on RAVDESS.

Reads the label order and feature configuration from :mod:`edge_runtime.config`.
"""
