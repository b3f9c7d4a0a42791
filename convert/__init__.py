"""convert: Keras run folder -> float32 and full-integer int8 TFLite, builtin ops only."""
