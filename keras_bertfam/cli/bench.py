"""`bertfam bench`: the benchmark suites against the peers, side by side in one run."""

from __future__ import annotations


def add_parser(commands):
    parser = commands.add_parser(
        "bench",
        help="benchmarks against the peers (keras-hub, tf-models), side by side in one run",
        description="Runs the benchmark suites (core, albert, data, finetune; default: all), "
        "each system in its own process, alternated; prints every table with ratios to the "
        "peer measured in the same run, and writes bench.json and one PNG chart per suite "
        "to --out. Aims: --quick under 3 minutes on a quiet 2-core machine, full under 15.",
    )
    parser.add_argument(
        "suites", nargs="*", metavar="SUITE", help="core | albert | data | finetune (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    parser.add_argument("--out", default="bench/results", help="folder for bench.json and PNGs")
    parser.set_defaults(run=run)


def run(args) -> int:
    from benchmarks import SUITES, run_suite

    run_suite(args.suites or SUITES, args.quick, args.out)
    return 0
