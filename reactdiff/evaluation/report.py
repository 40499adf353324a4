"""The evaluation's human-facing outputs: a Markdown table like the paper's and a bar chart."""

from __future__ import annotations

from pathlib import Path

from reactdiff.atomic import atomic_path, write_text
from reactdiff.evaluation.protocols import get_protocol

# (key in eval.json, column title, higher is better)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("FRCorr", "FRCorr ↑", True),
    ("FRDist", "FRDist ↓", False),
    ("FRDiv", "FRDiv ↑", True),
    ("FRVar", "FRVar ↑", True),
    ("FRDvs", "FRDvs ↑", True),
    ("FRRea_emotion", "FRRea (emotion-space FD) ↓", False),
    ("FRSyn", "FRSyn ↓", False),
    ("FRSyn_all", "FRSyn (all samples) ↓", False),
)
# realism next to FRRea (reactdiff.evaluation.realism): motion as a ratio to the real listeners'
# (1 = as lively as they are), AU conflicts and frozen AUs as shares
REALISM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Vel_emotion", "velocity (emotion)"),
    ("Acc_emotion", "acceleration (emotion)"),
    ("Vel_3dmm", "velocity (3DMM)"),
    ("Acc_3dmm", "acceleration (3DMM)"),
    ("AU_conflict", "AU conflicts ↓"),
    ("AU_frozen", "frozen AUs ↓"),
)


def _fmt(v: float) -> str:
    if abs(v) < 5e-5:  # FD round-off can be -1e-10: print 0, not -0.0000
        return "0"
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"


def _columns(results: dict[str, dict[str, float]]) -> list[tuple[str, str, bool]]:
    """The columns every method has: a protocol computes its own list of metrics."""
    return [c for c in COLUMNS if all(c[0] in m for m in results.values())]


def _table(results: dict[str, dict[str, float]], columns: list[tuple[str, str]]) -> list[str]:
    """Markdown rows; a method without a column's key (no 3DMM: a baseline) shows a dash."""
    head = "| Method | " + " | ".join(title for _, title in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [
        f"| {name} | " + " | ".join(_fmt(m[k]) if k in m else "–" for k, _ in columns) + " |"
        for name, m in results.items()
    ]
    return [head, rule, *rows]


REALISM_NOTES = (
    "Realism: the reactions' mean absolute frame-to-frame velocity and acceleration over the "
    "real listeners' (1 = as lively as they are; above is jittery, below too still); "
    "AU conflicts, the share of frames with an antagonistic AU pair on together (AU24 lip "
    "pressor with AU25 lips part, AU12 lip corner puller with AU15 lip corner depressor); "
    "frozen AUs, the share of reaction AU columns that never change where the real listener's "
    "does (one of them makes FRSyn its worst value). 3DMM columns: methods that produce 3DMM."
)


def markdown_table(results: dict[str, dict[str, float]], context: dict) -> str:
    columns = [(key, title) for key, title, _ in _columns(results)]
    realism = [c for c in REALISM_COLUMNS if any(c[0] in m for m in results.values())]
    notes = get_protocol(context["protocol"]).notes(context)
    lines = ["# Evaluation", "", notes, "", *_table(results, columns), ""]
    if realism:
        lines += ["## Realism", "", REALISM_NOTES, "", *_table(results, realism), ""]
    return "\n".join(lines)


def write_report(results: dict[str, dict[str, float]], context: dict, md: Path, png: Path) -> None:
    """Write the Markdown table and a one-panel-per-metric bar chart, both atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_text(md, markdown_table(results, context))
    names, columns = list(results), _columns(results)
    fig, axes = plt.subplots(1, len(columns), figsize=(3 * len(columns), 3.2))
    for ax, (key, title, _) in zip(axes, columns, strict=True):
        ax.bar(names, [results[n][key] for n in names], color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.suptitle(f"REACT metrics on the {context['split']} split", fontsize=11)
    fig.tight_layout()
    with atomic_path(png) as tmp, tmp.open("wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
