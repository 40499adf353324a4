"""The model families by the name their files carry, and ``load_model`` for any of them.

Adding a family is adding its module and one entry here. A file from before families existed
has no ``family`` key: it is the latent ReactDiff, the only family then.
"""

from __future__ import annotations

from pathlib import Path

from reactdiff.errors import DataFileError
from reactdiff.models.family import ReactionModel
from reactdiff.models.kinematics.model import KinReactDiff
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.serialization import load_state_file

FAMILIES: dict[str, type[ReactionModel]] = {
    ReactDiff.family: ReactDiff,
    KinReactDiff.family: KinReactDiff,
}
UNNAMED_FAMILY = ReactDiff.family  # the family of a file without a ``family`` key


def load_model(path: Path | str) -> ReactionModel:
    """The model in ``path`` (tensors and plain data only), of the family the file names."""
    state = load_state_file(path, "model file")
    family = state.get("family", UNNAMED_FAMILY)
    if family not in FAMILIES:
        raise DataFileError(
            Path(path),
            f"a model of the unknown family {family!r}; this version knows {sorted(FAMILIES)}",
        )
    return FAMILIES[family].from_state(state, path)
