"""The ``bn-migrate`` command: argument parsing and exit codes only; the work lives in the subpackages.

Exit codes (every subcommand):
  0  success (run-tf1: the program's own status)
  1  run-tf1: the program failed or exited with 1
  2  bad input, a missing dependency, or an API the legacy runtime cannot provide
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bn_migrate import __version__
from bn_migrate.errors import BnMigrateError


def _cmd_run_tf1(args: argparse.Namespace) -> int:
    from bn_migrate.runtime.legacy import run_tf1

    return run_tf1(args.script, args.args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bn-migrate",
        description="Migrate TensorFlow 1 batch-norm training code to TensorFlow 2 and prove it.",
    )
    parser.add_argument("--version", action="version", version=f"bn-migrate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run-tf1",
        help="run an unmodified TF1 program on TensorFlow 2 with TF1 semantics",
        description=(
            "Run SCRIPT as 'python SCRIPT ARGS' would have under TensorFlow 1.15: import tensorflow gives "
            "the v1 API in graph mode, tf.layers and graph-mode tf.keras come from tf-keras, "
            "tf.contrib.layers/slim from tf-slim. Exit status is the program's; 2 when it uses an API "
            "that cannot be emulated (tf.estimator, other tf.contrib modules)."
        ),
    )
    run.add_argument("script", help="the program (.py or .ipynb)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    run.set_defaults(func=_cmd_run_tf1)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BnMigrateError as exc:
        print(f"bn-migrate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bn-migrate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
