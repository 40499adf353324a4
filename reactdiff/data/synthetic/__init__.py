"""A documented generative model of a dyadic conversation, written in the REACT 2024 layout.

``conversation`` simulates behaviour (speech, affect, AUs, expressions, head pose, 3DMM) of
both sides of a clip; ``audio`` and ``face`` render it to a wav and an mp4; ``drop`` writes a
whole drop with splits and appropriateness matrices.
"""
