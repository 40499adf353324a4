"""reactdiff.models.stream_input: the chunk checks every family's online stream shares."""

import pytest
import torch

from reactdiff.models.stream_input import speaker_chunk

STREAMS = ("mfcc", "emotion")


def _chunk(*shape_t):
    return {"mfcc": torch.zeros(*shape_t, 26), "emotion": torch.zeros(*shape_t, 25)}


def test_single_streams_gain_a_batch_axis_and_extra_streams_are_dropped():
    chunk, single = speaker_chunk(STREAMS, {**_chunk(5), "3dmm": torch.zeros(5, 58)}, None, "cpu")
    assert single and set(chunk) == set(STREAMS) and chunk["mfcc"].shape == (1, 5, 26)
    chunk, single = speaker_chunk(STREAMS, _chunk(2, 5), None, "cpu")
    assert not single and chunk["emotion"].shape == (2, 5, 25)


def test_bad_chunks_name_the_problem():
    with pytest.raises(KeyError, match=r"lacks the model's input stream\(s\) \['emotion'\]"):
        speaker_chunk(STREAMS, {"mfcc": torch.zeros(5, 26)}, None, "cpu")
    with pytest.raises(ValueError, match="must all be"):
        speaker_chunk(STREAMS, {"mfcc": torch.zeros(5, 26), "emotion": torch.zeros(1, 5, 25)},
                      None, "cpu")  # fmt: skip
    with pytest.raises(ValueError, match="switched between"):
        speaker_chunk(STREAMS, _chunk(1, 5), True, "cpu")
    with pytest.raises(ValueError, match="differ in length"):
        speaker_chunk(STREAMS, {"mfcc": torch.zeros(5, 26), "emotion": torch.zeros(4, 25)},
                      None, "cpu")  # fmt: skip
