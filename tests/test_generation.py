"""The generation settings: one definition, built from params, carried by the served model."""

from __future__ import annotations

import dataclasses

import pytest

from reactdiff.generation import Generation
from tests.helpers.params import params_with


def test_params_give_the_pipelines_settings():
    params = params_with({"sampling": {"steps": 7, "eta": 0.5}, "online": {"delay_frames": 3}})
    generation = params.generation()
    assert generation == Generation(
        steps=7,
        eta=0.5,
        guidance=params.sampling.guidance,
        delay_frames=3,
        chunk_frames=params.evaluate.chunk_frames,
    )
    assert generation.sampling() == {"steps": 7, "eta": 0.5, "guidance": 1.0, "delay_frames": 3}


def test_a_served_models_settings_round_trip_and_refuse_unknown_keys():
    settings = Generation(steps=3, chunk_frames=750)
    assert Generation.from_dict(dataclasses.asdict(settings)) == settings
    assert Generation.from_dict(None) == Generation()  # defaults: a clip in one piece
    with pytest.raises(ValueError, match=r"unknown generation settings \['temperature'\]"):
        Generation.from_dict({"temperature": 2.0})
