"""The application: what the ``minirnn`` command does, as calls a Python program can make.

- ``training``: train a model from a CSV file or a built-in series (``TrainOptions``), resume
  a checkpoint, score the run (``train`` does it all in one call).
- ``prediction``: predict with one model or an ensemble (``PredictOptions``), on several
  series, past the end with future inputs; the rows as CSV.
- ``datafiles``: a trained model's data read again, or other data read as the model reads it.
- ``engines``: which engine a model runs on, and what a bit-for-bit resume needs to know.

The command line (``minirnn.cli``) parses its options into these dataclasses, calls these
functions and shows what they return; nothing here imports it.
"""
