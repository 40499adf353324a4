"""Models: the Multi-Modality Transformer (stage 1) and the latent denoiser (stage 2)."""
