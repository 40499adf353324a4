"""Loading a ``.pt`` file without trusting it.

A ``.pt`` file is a pickle, and a crafted pickle runs code when it is loaded. Every file this
project reads back (models, training checkpoints) is therefore loaded with
``weights_only=True``: tensors and plain containers only. What the project saves fits that
(configs are saved as dicts, the numpy RNG state as a tensor), so nothing needs allow-listing.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from reactdiff.errors import DataFileError


def load_state_file(path: Path | str, what: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dict saved in ``path``; ``what`` names the kind of file in the errors, ``keys`` are
    the entries it must have. Anything else than tensors and plain data is refused, unrun."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, f"{what} not found")
    if not zipfile.is_zipfile(path):  # what torch.save writes
        raise DataFileError(path, f"cannot load as a {what}: not a PyTorch file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        blocked = [line for line in str(err).splitlines() if "GLOBAL" in line or "global" in line]
        detail = f" ({blocked[0].strip()})" if blocked else ""
        raise DataFileError(
            path,
            f"cannot load as a {what}: it holds Python objects, not only tensors and plain data "
            f"(refused: loading it could run code){detail}",
        ) from None
    except Exception as err:  # any failure to parse an untrusted file is the file's fault
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataFileError(
            path, f"cannot load as a {what}: not a PyTorch file ({first})"
        ) from None
    if not isinstance(state, dict):
        raise DataFileError(path, f"not a {what}: holds a {type(state).__name__}, not a dict")
    require_keys(state, path, what, keys)
    return state


def require_keys(state: dict[str, Any], path: Path | str, what: str, keys: tuple[str, ...]) -> None:
    """An error naming ``path`` and what it lacks unless ``state`` has every one of ``keys``."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise DataFileError(Path(path), f"not a {what}: missing {', '.join(missing)}")


def load_weights(
    module: torch.nn.Module, state_dict: dict[str, Any], path: Path | str, what: str
) -> None:
    """``module.load_state_dict(state_dict)``, strictly; a mismatch (a file written by another
    version of the architecture) is an error naming the file, what differs and the way out."""
    try:
        result = module.load_state_dict(state_dict, strict=False)
        problems = [f"missing {k}" for k in result.missing_keys]
        problems += [f"unexpected {k}" for k in result.unexpected_keys]
    except RuntimeError as err:  # a tensor of another shape
        problems = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise DataFileError(
            Path(path),
            f"the {what}'s weights do not fit this version's model ({'; '.join(problems[:3])}"
            f"{more}): it was written by another version of reactdiff; retrain (dvc repro)",
        )
