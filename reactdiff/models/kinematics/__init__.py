"""The kinematics ReactDiff (Ge et al., arXiv 2510.04712) as the family ``reactdiff-kin``:
a temporal diffusion model on the listener's 3DMM and emotion frames themselves.

Modules: ``network`` (the temporal U-Net), ``denoiser`` (EDM preconditioning and guidance),
``online`` (window-by-window sampling as a stream), ``model`` (``KinReactDiff``).

Where it follows the released code (lingjivoo/ReactDiff at 8e36156) and where it deviates:

- Follows: EDM preconditioning with sigma_data 0.5, sigmas in [0.01, 80], the cosine training
  density and the karras (unit) loss weighting; the network's conditioned residual blocks
  (AdaGN on the noise level, temporal AdaGN on frame-position Fourier features, an LSTM where
  a block changes width, LSTMs in and out started from the previous window's last frame),
  cross-attention to the speaker's audio and facial streams, no resampling in time; sampling
  window by window (``window_size`` 64) by DPM-Solver++(2M) SDE on Karras sigmas (50 steps,
  eta 1); the velocity prior (lag-1 and lag-W differences, head pose x10) and the pair prior
  over the symmetric, co-occurring and exclusive 3DMM pairs, weights 1.0 and 0.01, on the
  least-noisy 10% of the batch (cosine u < 0.1), compared in the network's output space.
- Deviates: the target is the 58 3DMM coefficients and the 25-d emotion (the code diffuses
  the 3DMM only; every REACT metric needs the emotion), standardised with train statistics to
  std sigma_data; the noise level is embedded by Fourier features of c_noise = ln(sigma)/4
  (the code's ``TemporalFeatures`` floor-divides c_noise by 50, which leaves two distinct
  embeddings), and frame positions in units of the window (the code embeds raw frame indices
  with unit-variance random frequencies, which modulates each frame at random until training
  has learnt to ignore it: jitter in a briefly trained model); cross-attention keys may be fewer or more than the window's frames (the code
  requires as many, with wav2vec at twice the frame rate pooled by 2); online windows attend to
  the speaker frames up to their first frame + ``delay_frames`` (the code attends to the
  window's own span, which is offline here); training windows see the real previous frame
  (the code takes the model's estimate half the time); the priors' mask multiplies per sample
  (the code's (B, 1, 1) mask on the (B, T) pair loss broadcasts to (B, B, T)); the classifier-
  free guidance is a learned null key per stream; the pose momentum of ``sample.py`` (90% of
  each window's pose replaced by the previous window's last frame) is left out; SDE noise is
  drawn per step from the seeded generator (k-diffusion uses a Brownian tree).
"""
