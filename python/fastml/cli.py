"""The ``fastml`` command line."""

import argparse
import json
import sys
import warnings

from . import __version__
from ._tabular_cli import add_diagnose_parser, add_train_parser


def _run_demo(args):
    from .demo import format_report, run_demo

    report = run_demo(quick=args.quick)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(format_report(report) + "\n")
    return 0


def build_parser():
    """Build the argument parser with one subcommand per task."""
    parser = argparse.ArgumentParser(
        prog="fastml", description="Train linear models and small networks with fastml."
    )
    parser.add_argument("--version", action="version", version=f"fastml {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True)

    demo = subcommands.add_parser(
        "demo", help="train the bundled real data sets and print a report"
    )
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.add_argument(
        "--quick", action="store_true", help="fewer epochs, for a fast check"
    )
    demo.set_defaults(handler=_run_demo)

    add_diagnose_parser(subcommands)
    add_train_parser(subcommands)
    return parser


def main(argv=None):
    """Parse ``argv`` (default sys.argv[1:]) and run the subcommand.

    Returns the subcommand's exit code.
    """
    args = build_parser().parse_args(argv)
    # Warnings (a ConvergenceWarning from fit) print as one line that names
    # the command, instead of Python's two lines pointing at library code.
    # A message repeated by the many fits of a learning curve prints once.
    previous = warnings.showwarning
    printed = set()

    def show_warning(message, category, filename, lineno, file=None, line=None):
        text = f"fastml {args.command}: warning: {message}\n"
        if text not in printed:
            printed.add(text)
            sys.stderr.write(text)

    warnings.showwarning = show_warning
    try:
        return args.handler(args)
    finally:
        warnings.showwarning = previous
