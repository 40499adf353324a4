"""Models: the Multi-Modality Transformer (stage 1), the latent denoiser (stage 2), their
standardisers, and ReactDiff, the whole model with ``generate``."""
