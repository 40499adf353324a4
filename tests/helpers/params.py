"""Params for tests: the repository's params.yaml, with some keys overridden group by group.

Tests run the real configuration shrunk where they need it, so params.yaml stays the only place
values are written down.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from reactdiff.config import Params, parse_params, read_params_yaml
from reactdiff.data.synthetic.react2024 import SynthSpec

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


@cache
def _raw() -> dict:
    return read_params_yaml(PARAMS_YAML)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def raw_params(overrides: dict | None = None) -> dict:
    """params.yaml as a mapping, deep-merged with ``overrides`` (a fresh copy each call)."""
    return _merge(copy.deepcopy(_raw()), overrides or {})


def params_with(overrides: dict | None = None) -> Params:
    """The repository's params with ``overrides`` deep-merged into them."""
    return parse_params(raw_params(overrides), PARAMS_YAML)


def repo_params() -> Params:
    return params_with()


def tiny_spec(**overrides) -> SynthSpec:
    """The synthetic drop of params.yaml, shrunk: 3 sessions (2 NoXI, 1 RECOLA) x 2 clips."""
    spec = {"sessions": 3, "clips_per_session": 2, "seed": 7, "video": True, **overrides}
    return SynthSpec.from_params(repo_params(), **spec)
