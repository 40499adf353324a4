"""The evaluation's human-facing outputs: a Markdown table like the paper's per split, and a
bar chart with the 95% intervals as error bars."""

from __future__ import annotations

from dataclasses import dataclass
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


CI_KEY = "ci95"  # a method's entry: metric -> [lo, hi], the 95% bootstrap interval over items


@dataclass(frozen=True)
class SplitScores:
    """One scored split: the metrics by method (with their ``ci95``) and the protocol's notes'
    context; ``role`` says what the split is for, in its heading."""

    split: str
    role: str  # "selection: ..." or "report: ..."
    results: dict[str, dict]
    context: dict


def _fmt(v: float) -> str:
    if abs(v) < 5e-5:  # FD round-off can be -1e-10: print 0, not -0.0000
        return "0"
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"


def _cell(method: dict, key: str) -> str:
    """The value, and its interval where there is one: ``133.60 [131.20, 136.00]``."""
    if key not in method:
        return "–"
    ci = method.get(CI_KEY, {}).get(key)
    return _fmt(method[key]) + ("" if ci is None else f" [{_fmt(ci[0])}, {_fmt(ci[1])}]")


def _columns(results: dict[str, dict]) -> list[tuple[str, str, bool]]:
    """The columns every method has: a protocol computes its own list of metrics."""
    return [c for c in COLUMNS if all(c[0] in m for m in results.values())]


def _table(results: dict[str, dict], columns: list[tuple[str, str]]) -> list[str]:
    """Markdown rows; a method without a column's key (no 3DMM: a baseline) shows a dash."""
    head = "| Method | " + " | ".join(title for _, title in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [
        f"| {name} | " + " | ".join(_cell(m, k) for k, _ in columns) + " |"
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


CI_NOTES = (
    "In brackets: the 95% bootstrap interval over items (speaker samples; percentile method, "
    "{resamples} resamples, seed {seed}, the same resamples for every method), for the metrics "
    "that are a mean over items. Read a difference between two rows as real only where their "
    "intervals do not overlap."
)


def split_section(scores: SplitScores) -> list[str]:
    """One split's heading, notes and tables."""
    results, context = scores.results, scores.context
    columns = [(key, title) for key, title, _ in _columns(results)]
    realism = [c for c in REALISM_COLUMNS if any(c[0] in m for m in results.values())]
    notes = get_protocol(context["protocol"]).notes(context)
    lines = [f"## Split `{scores.split}` ({scores.role})", "", notes, ""]
    if "bootstrap" in context:
        lines += [CI_NOTES.format(**context["bootstrap"]), ""]
    lines += [*_table(results, columns), ""]
    if realism:
        lines += [f"### Realism (`{scores.split}`)", "", REALISM_NOTES, ""]
        lines += [*_table(results, realism), ""]
    return lines


def markdown_report(splits: list[SplitScores]) -> str:
    """The whole report: every scored split, selection first."""
    return "\n".join(["# Evaluation", ""] + [line for s in splits for line in split_section(s)])


def _error_bars(scores: SplitScores, key: str, names: list[str]) -> list[list[float]] | None:
    """(2, methods) distances from each value down and up to its interval (0 without one)."""
    if not any(key in scores.results[n].get(CI_KEY, {}) for n in names):
        return None
    below, above = [], []
    for n in names:
        value, ci = scores.results[n][key], scores.results[n].get(CI_KEY, {}).get(key)
        below.append(0.0 if ci is None else max(0.0, value - ci[0]))
        above.append(0.0 if ci is None else max(0.0, ci[1] - value))
    return [below, above]


def write_report(splits: list[SplitScores], md: Path, png: Path) -> None:
    """Write the Markdown report and one bar chart (a row of panels per split, a panel per
    metric, the intervals as error bars), both atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_text(md, markdown_report(splits))
    columns = _columns(splits[0].results)
    fig, axes = plt.subplots(
        len(splits), len(columns), figsize=(3 * len(columns), 3.4 * len(splits)), squeeze=False
    )
    for row, scores in zip(axes, splits, strict=True):
        names = list(scores.results)
        for ax, (key, title, _) in zip(row, columns, strict=True):
            values = [scores.results[n][key] for n in names]
            yerr = _error_bars(scores, key, names)
            ax.bar(names, values, yerr=yerr, capsize=3, color="tab:blue", ecolor="black")
            ax.set_title(f"{title} ({scores.split})", fontsize=9)
            ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.suptitle("REACT metrics, 95% bootstrap intervals over items", fontsize=11)
    fig.tight_layout()
    with atomic_path(png) as tmp, tmp.open("wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
