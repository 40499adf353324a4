"""Per-frame features of every clip (25 fps, ``format.frames`` per clip) and the feature store.

One module per concern: ``audio`` (MFCC), ``wav2vec`` (wav2vec 2.0), ``facial`` (annotations and
TorchScript predictors), ``streams`` (which extractor makes which stream), ``store`` (arrays +
manifest), ``extract`` (the stage), ``validation`` (Great Expectations over the manifest) and
``dataset`` (pairs for training, memory-mapped).
"""
