"""Stage 2 of ReactDiff: the conditional latent DDIM between the MMT's encoder and decoder."""
