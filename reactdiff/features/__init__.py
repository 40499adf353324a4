"""Per-frame features of every clip (at the data format's frame rate) and the feature store.

One module per concern: ``audio`` (MFCC), ``wav2vec`` (wav2vec 2.0), ``facial`` (annotations and
TorchScript predictors), ``streams`` (which extractor makes which stream), ``store`` (arrays +
manifest), ``extract`` (bringing a store up to date), ``inventory`` (what the store holds, as a
table for the feature-store suite) and ``dataset`` (pairs for training, memory-mapped).
"""
