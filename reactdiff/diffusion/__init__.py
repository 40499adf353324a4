"""The diffusion machinery of ReactDiff's stage 2: the noise schedule and DDIM sampler, and the
latent windows it works on. It knows nothing of the network (``reactdiff.models``)."""
