"""The evaluation's human-facing outputs: a Markdown table like the paper's and a bar chart."""

from __future__ import annotations

from pathlib import Path

from reactdiff.atomic import atomic_path, write_text

# (key in eval.json, column title, higher is better)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("FRCorr", "FRCorr ↑", True),
    ("FRDist", "FRDist ↓", False),
    ("FRDiv", "FRDiv ↑", True),
    ("FRVar", "FRVar ↑", True),
    ("FRDvs", "FRDvs ↑", True),
    ("FRRea_emotion", "FRRea (emotion-space FD) ↓", False),
    ("FRSyn", "FRSyn ↓", False),
)


def _fmt(v: float) -> str:
    if abs(v) < 5e-5:  # FD round-off can be -1e-10: print 0, not -0.0000
        return "0"
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"


def markdown_table(results: dict[str, dict[str, float]], context: dict) -> str:
    head = "| Method | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    rows = [
        f"| {name} | " + " | ".join(_fmt(m[key]) for key, _, _ in COLUMNS) + " |"
        for name, m in results.items()
    ]
    notes = (
        f"Split `{context['split']}`: N = {context['n']} mirrored samples, S = {context['samples']} "
        f"reactions each, T = {context['frames']} frames, {context['neighbours']:.1f} appropriate "
        "listeners per speaker on average.\n\n"
        "FRCorr sums over the S samples (perfect = S). FRSyn is the official script's: first sample "
        "of each speaker (the all-samples variant is `FRSyn_all` in metrics/eval.json). FRRea is the "
        "Fréchet distance of emotion-space frame features `[x_t, x_t - x_{t-1}]`, not the "
        "image-based FID of the challenge (no renderer or Inception weights here)."
    )
    return "\n".join(["# Evaluation", "", notes, "", head, rule, *rows, ""])


def write_report(results: dict[str, dict[str, float]], context: dict, md: Path, png: Path) -> None:
    """Write the Markdown table and a one-panel-per-metric bar chart, both atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_text(md, markdown_table(results, context))
    names = list(results)
    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(3 * len(COLUMNS), 3.2))
    for ax, (key, title, _) in zip(axes, COLUMNS, strict=True):
        ax.bar(names, [results[n][key] for n in names], color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.suptitle(f"REACT metrics on the {context['split']} split", fontsize=11)
    fig.tight_layout()
    with atomic_path(png) as tmp, tmp.open("wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
