"""Params for tests: the defaults with some keys overridden, deep-merged group by group."""

from __future__ import annotations

from reactdiff.config import Params, parse_params


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def params_with(overrides: dict) -> Params:
    return parse_params(_merge(Params().model_dump(mode="json", by_alias=True), overrides))
