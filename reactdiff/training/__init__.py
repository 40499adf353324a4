"""Training machinery shared by both stages: loop, EMA, checkpoints, distributed setup."""
