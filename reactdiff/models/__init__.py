"""Models: the Multi-Modality Transformer (stage 1), the latent denoiser (stage 2), their
standardisers, and the model families (``family.ReactionModel``), of which ``load_model`` loads
any file."""

from reactdiff.models.registry import load_model

__all__ = ["load_model"]
