"""The evaluation protocols, side by side behind one signature, chosen by the format's
``protocol`` name.

A protocol reads the split's emotions through the layout, scores every method of
``evaluate.methods`` on the split it is given and returns (results, per-item values, context):
the metrics by method, each mean-over-items metric's values per item (for the confidence
intervals) and what the report says about the run. It does not load models: the stage hands it the trained models' reactions
as callables (:class:`ModelRows`), the baselines are evaluation's own.
"""

from __future__ import annotations

from reactdiff.errors import ConfigError
from reactdiff.evaluation.protocols import neighbour, session
from reactdiff.evaluation.protocols.base import Protocol

PROTOCOLS: dict[str, Protocol] = {
    "neighbour": Protocol(neighbour.run, neighbour.notes),
    "session": Protocol(session.run, session.notes),
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name`` (a format's ``protocol``)."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"no evaluation protocol {name!r}; known: {sorted(PROTOCOLS)}") from None
