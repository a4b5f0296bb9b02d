"""What the benchmarks write: tables (terminal and Markdown), goals, bench.json, PNG charts.

A suite's results carry its tables as data, `{"title", "columns", "rows", "notes"}` with
the cells already formatted, and the figures it measured for a goal of
`benchmarks.goals`, `[{"goal", "label", "value"}]`; this module renders both, for the
terminal (`suite_text`) and for `docs/benchmarks.md` (`markdown`), and draws one bar
chart of ratios per suite (`bar_chart`, the only place matplotlib is imported).

    python -m benchmarks.report benchmarks/results/bench.json > docs/benchmarks.md
    python -m benchmarks.report benchmarks/results/bench.json --text

>>> t = table("demo", ["system", "tok/s"], [["ours", "1,200"], ["peer", "900"]], ["a note"])
>>> print("\\n".join(table_text(t)))
demo
system  tok/s
ours    1,200
peer      900
a note
>>> goal_text("core.train_vs_fastest_peer", 1.05)
'1.05x (goal >= 1.10x: not met)'
>>> goal_text("data.slowest_pipeline_vs_train_step", 115.3)
'115x (goal >= 50x: met)'
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
from pathlib import Path

from benchmarks import SUITES
from benchmarks.goals import GOALS, met

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"  # the default output folder: benchmarks/results (git-ignored)
RECORDED = HERE / "recorded.md"  # figures copied from earlier runs, appended to the Markdown


# -- tables ------------------------------------------------------------------------------
def table(title: str, columns, rows, notes=()) -> dict:
    """A table as data: every cell a string (format numbers before)."""
    return {
        "title": title,
        "columns": [str(c) for c in columns],
        "rows": [[str(cell) for cell in row] for row in rows],
        "notes": [str(n) for n in notes],
    }


def table_text(t: dict) -> list[str]:
    """Fixed-width lines: the title, the first column left-aligned, the others right-aligned."""
    grid = [t["columns"], *t["rows"]]
    widths = [max(len(row[i]) for row in grid) for i in range(len(t["columns"]))]

    def line(row):
        rest = zip(row[1:], widths[1:], strict=True)
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in rest]
        return "  ".join(cells).rstrip()

    return [t["title"], *map(line, grid), *t["notes"]]


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def table_markdown(t: dict) -> list[str]:
    """A Markdown table under its title in bold, its notes below it."""
    columns = t["columns"]
    lines = [
        f"**{_md(t['title'])}**",
        "",
        "| " + " | ".join(_md(c) or " " for c in columns) + " |",
        "| " + " | ".join(["---", *["---:"] * (len(columns) - 1)]) + " |",
    ]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in t["rows"]]
    if t["notes"]:
        lines += ["", *(f"- {note}" for note in t["notes"])]
    return lines


# -- goals -------------------------------------------------------------------------------
def format_value(value: float, unit: str) -> str:
    """A figure in a goal's unit: 1.05x, 115x, 61.3%, 170s, 1.4 sd."""
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "sd":
        return f"{value:+.1f} sd"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "s":
        return f"{value:,.0f}s"
    return f"{value:,.0f}x" if abs(value) >= 100 else f"{value:.2f}x"


def goal_text(name: str, value: float) -> str:
    """The measured figure beside its goal: "1.05x (goal >= 1.10x: not met)"."""
    goal = GOALS[name]
    verdict = {True: "met", False: "not met", None: "not measured"}[met(name, value)]
    return f"{format_value(value, goal.unit)} (goal {format_goal(name)}: {verdict})"


def format_goal(name: str) -> str:
    """A goal as text: ">= 1.10x", ">= 50x", ">= 75.0%", "<= 180s"."""
    goal = GOALS[name]
    if goal.unit == "x":
        aim = f"{goal.value:.2f}x" if goal.value < 10 else f"{goal.value:,.0f}x"
    else:
        aim = format_value(goal.value, goal.unit)
    return f"{goal.comparison} {aim}"


def goal_lines(measured) -> list[str]:
    """One line per figure measured for a goal, under a heading; nothing when none."""
    if not measured:
        return []
    return ["goals (benchmarks/goals.py):"] + [
        f"  {m['label']}: {goal_text(m['goal'], m['value'])}" for m in measured
    ]


def suite_text(results: dict) -> str:
    """A suite's results for the terminal: title, notes, tables, goals."""
    if "skipped" in results:
        return f"skipped: {results['skipped']}"
    lines = [results["title"], *results.get("notes", [])]
    for t in results["tables"]:
        lines += ["", *table_text(t)]
    goals = goal_lines(results.get("goals"))
    return "\n".join(lines + (["", *goals] if goals else []))


def print_suite(results: dict) -> None:
    print("\n" + suite_text(results), flush=True)


# -- bench.json, charts ------------------------------------------------------------------
def write_json(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def bar_chart(path: Path, title: str, panels: dict[str, dict[str, float]]) -> Path | None:
    """Horizontal bars, one panel per entry of `panels` ({bar label: ratio}), a line at 1.

    Non-finite values are left out; a panel spanning more than 20x gets a log scale.
    Written with matplotlib's Agg backend (no display needed); None when nothing to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = {
        name: {k: v for k, v in bars.items() if math.isfinite(v)} for name, bars in panels.items()
    }
    panels = {name: bars for name, bars in finite.items() if bars}
    if not panels:
        return None
    height = max(2.0, 0.45 * sum(len(b) for b in panels.values()) + 1.2 * len(panels))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, height), squeeze=False)
    for ax, (name, bars) in zip(axes[:, 0], panels.items(), strict=True):
        labels, values = list(bars)[::-1], list(bars.values())[::-1]
        ax.barh(labels, values, color="tab:blue")
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.0f}x" if v >= 100 else f" {v:.2f}x", va="center", fontsize=8)
        high = max([*values, 1.0])
        if high / min([*values, 1.0]) > 20:
            ax.set_xscale("log")
            ax.set_xlim(min([*values, 1.0]) / 2, high * 4)
        else:
            ax.set_xlim(0, high * 1.25)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# -- docs/benchmarks.md ------------------------------------------------------------------
def markdown(report: dict, source: str = "bench.json", recorded: Path | None = RECORDED) -> str:
    """`docs/benchmarks.md`: the tables of a bench.json, then the copied figures of `recorded`.

    `report` is what `benchmarks.run_suite` wrote; `source` the bench.json's path as the
    regeneration command should name it.
    """
    suites = report["suites"]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m benchmarks.report`; do not edit by hand: the tables "
        "come from a bench.json, the copied figures from benchmarks/recorded.md. -->",
        "",
        "What each suite measures and the rules every figure follows: "
        "[benchmarks/README.md](../benchmarks/README.md). The goals figures are held against "
        "live in [benchmarks/goals.py](../benchmarks/goals.py).",
        "",
        "## Generated from a bench.json",
        "",
        f"- command: `{report.get('command') or _command(report)}`, {report['mode']} mode "
        f"({'fewer rounds and steps' if report['mode'] == 'quick' else 'all rounds'}), "
        f"{report['elapsed_s']:,.0f} s",
        f"- machine: {report['machine']}",
        f"- regenerate: `python -m benchmarks.report {source} > docs/benchmarks.md`",
    ]
    for name, results in suites.items():
        lines += ["", f"### {name}", "", f"{suite_about(name)[0]} {_alone(name)}", ""]
        if "skipped" in results:
            lines.append(f"Skipped: {results['skipped']}")
            continue
        lines.append(results["title"])
        if results.get("notes"):
            lines += ["", *(f"- {n}" for n in results["notes"])]
        for t in results["tables"]:
            lines += ["", *table_markdown(t)]
    for name in (name for name in SUITES if name not in suites):
        lines += ["", f"### {name}", "", *suite_about(name), "", _alone(name)]
        lines += ["", "Not in this bench.json: a run of this suite puts its tables here."]
    measured = [m for results in suites.values() for m in results.get("goals", [])]
    measured += report.get("goals", [])
    if measured:
        lines += [
            "",
            "### Goals",
            "",
            "| figure | measured | goal | |",
            "| --- | ---: | ---: | --- |",
        ]
        for m in measured:
            goal = GOALS[m["goal"]]
            verdict = {True: "met", False: "not met", None: "not measured"}[
                met(m["goal"], m["value"])
            ]
            lines.append(
                f"| {_md(m['label'])} | {format_value(m['value'], goal.unit)} | "
                f"{format_goal(m['goal'])} | {verdict} |"
            )
    if recorded is not None and Path(recorded).is_file():
        lines += ["", Path(recorded).read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def suite_about(name: str) -> list[str]:
    """What a suite measures, from its module's docstring (read, not imported): the summary
    paragraph as one line, then the text after it up to the first indented (command) line."""
    source = (HERE / f"{name}.py").read_text(encoding="utf-8")
    summary, _, rest = (ast.get_docstring(ast.parse(source)) or name).partition("\n\n")
    body = []
    for line in rest.splitlines():
        if line.startswith("    "):
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    return [" ".join(summary.split()), *(["", *body] if body else [])]


def _alone(name: str) -> str:
    return f"Alone: `python -m benchmarks {name} --quick` (full mode without `--quick`)."


def _command(report: dict) -> str:
    quick = " --quick" if report["mode"] == "quick" else ""
    return f"python -m benchmarks {' '.join(report['suites'])}{quick}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Print the tables of a bench.json: Markdown for docs/benchmarks.md "
        "(default), or as the terminal shows them (--text).",
    )
    parser.add_argument("bench_json", type=Path, help="a bench.json of `python -m benchmarks`")
    parser.add_argument("--text", action="store_true", help="the terminal tables instead")
    parser.add_argument(
        "--no-recorded", action="store_true", help="leave out the copied figures (recorded.md)"
    )
    args = parser.parse_args(argv)
    if not args.bench_json.is_file():
        parser.error(f"{args.bench_json} not found (write one with `python -m benchmarks`)")
    report = json.loads(args.bench_json.read_text())
    if args.text:
        print(f"{report['mode']} mode; {report['machine']}")
        for results in report["suites"].values():
            print("\n" + suite_text(results))
        print("\n".join(["", *goal_lines(report.get("goals"))]))
    else:
        sys.stdout.write(
            markdown(report, str(args.bench_json), None if args.no_recorded else RECORDED)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
