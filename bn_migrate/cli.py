"""The ``bn-migrate`` command: argument parsing and exit codes only; the work lives in the subpackages.

Exit codes (every subcommand):
  0  success (run-tf1: the program's own status)
  1  run-tf1: the program failed or exited with 1
  2  bad input, a missing dependency, or an API the legacy runtime cannot provide
  1  rewrite --check: a file would change or needs a human; 2 also: a file could not be read or parsed
  0/1/2  check: equivalent / different / undecided
  130  interrupted (Ctrl-C)
  143  rewrite, check: terminated (SIGTERM); stopped as for Ctrl-C
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bn_migrate import __version__
from bn_migrate.errors import BnMigrateError
from bn_migrate.extras import require_tf_extra
from bn_migrate.signals import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, stop_on_signals


def _cmd_run_tf1(args: argparse.Namespace) -> int:
    require_tf_extra("run-tf1")
    from bn_migrate.runtime.legacy import run_tf1

    return run_tf1(args.script, args.args)


def _cmd_rewrite(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bn_migrate.rewrite.formats import OutputFormat
    from bn_migrate.rewrite.options import RewriteOptions
    from bn_migrate.rewrite.runner import Mode, RunConfig, rewrite_command
    from bn_migrate.rewrite.selection import RuleSelection, parse_rule_prefixes

    if args.output_dir is not None:
        mode = Mode.OUTPUT_DIR
    elif args.check:
        mode = Mode.CHECK
    elif args.diff:
        mode = Mode.DIFF
    else:
        mode = Mode.WRITE
    if args.output_dir is not None and (args.check or args.diff):
        raise BnMigrateError("--output-dir cannot be combined with --diff or --check")
    _refuse_empty_paths(args)
    output_format = OutputFormat(args.format)
    selection = RuleSelection(
        select=parse_rule_prefixes(args.select, "--select"),
        ignore=parse_rule_prefixes(args.ignore, "--ignore"),
    )
    config = RunConfig(
        paths=tuple(Path(p) for p in args.paths),
        mode=mode,
        diff=args.diff,
        output_dir=Path(args.output_dir) if args.output_dir is not None else None,
        jobs=args.jobs or 0,
        excludes=tuple(args.exclude),
        options=RewriteOptions(
            plain_keras_bn=args.plain_keras_bn,
            fix_missing_updates=args.fix_missing_updates,
            library=tuple(args.library),
        ),
        selection=selection,
    )
    report_path = Path(args.report) if args.report is not None else None
    return rewrite_command(
        config, report_path=report_path, quiet=args.quiet, output_format=output_format
    )


def _refuse_empty_paths(args: argparse.Namespace) -> None:
    """An empty argument (an unset shell variable: ``rewrite "$SRC"``) would mean the current folder."""
    if any(p == "" for p in args.paths):
        raise BnMigrateError(
            "an empty PATH was given (an unset variable?); name the files or folders"
        )
    for option, value in (("--output-dir", args.output_dir), ("--report", args.report)):
        if value == "":
            raise BnMigrateError(f"{option} is empty (an unset variable?); give a path")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of jobs, got {text!r}")
    return value


REWRITE_EPILOG = """\
Output: diffs go to stdout; one line per rewritten or failed file, every site left for a human
('file:line:col RULE message'), every BN019 warning (a batch-norm layer made at every call of a
Keras call, a tf.function, a train step or a training loop; never a reason to leave a file, never a
--check failure) and a summary go to stderr. A diff is in each file's own encoding,
with names quoted as GNU diff quotes them: apply it with 'patch -p0' from the folder the command
ran in. FIFOs, sockets and devices are skipped ('FILE: skipped: not a regular file'), never opened.

--format json|sarif|github writes the run to stdout instead: the --report document, a SARIF 2.1.0
log (code scanning), or GitHub workflow commands (::warning/::error annotations); stderr keeps only
the summary. A left site and a BN019 warning are warnings under their rule id; with --check a file
that would change is a warning under BN-REWRITE; a file that failed is an error under BN-ERROR.
--diff cannot be combined with these formats (both would write to stdout).

--select/--ignore RULES (comma-separated ids or prefixes, repeatable; BN01 means BN010-BN019) choose
which rules' left sites (and BN019 warnings) are shown, reported and counted by --check (shown: matches a --select
prefix, or none given, and no --ignore prefix). They never change what is
rewritten: a file left for a human is left whole, whatever its reasons; an ignored reason is only
hidden (counted in the summary), and --check passes when every reason of a left file is hidden.

Notebooks (*.ipynb): the code cells are migrated as one program, in cell order; magics and shell
lines are kept as they are, outputs, metadata and markdown cells too. Places read
'nb.ipynb:cell N:line L:col C' (N counts every cell from 1, markdown too). --diff shows one diff per
changed cell ('--- nb.ipynb (cell N)'), for review: patch cannot apply it to the notebook.

--output-dir writes a complete copy of the input tree (every file, migrated where changed) under DIR,
relative to the deepest folder holding all the inputs, so old and new can be checked side by side.
Folders are searched recursively for *.py and *.ipynb, skipping hidden folders (so
.ipynb_checkpoints), __pycache__, site-packages and virtual environments; symbolic links inside
folders are not followed (--output-dir copies them as links). --exclude GLOB (repeatable) matches
a file or folder name, or its path relative to the folder given on the command line.

Exit status:
  0    done: every file written, unchanged, or left for a human (see the lines on stderr)
  1    --check: a file would change, or has TF1 batch-norm code left for a human (for a reason
       --select/--ignore do not hide)
  2    usage error, or a file could not be read, parsed or written (the other files are still done)
  130  interrupted: files already rewritten stay rewritten, no file is left half-written
  143  terminated (SIGTERM): as 130; worker processes end
"""


def _cmd_check(args: argparse.Namespace) -> int:
    require_tf_extra("check")
    from bn_migrate.check import CheckOptions, check_programs
    from bn_migrate.check.models import is_model_ref
    from bn_migrate.check.report_files import write_json, write_plot

    _refuse_outputs_over_programs(args)
    if args.from_report is not None:
        if args.old is not None or args.new is not None:
            raise BnMigrateError("--from-report checks the pairs of the report: give no OLD NEW")
        if args.plot:
            raise BnMigrateError("--plot is for one check, not --from-report")
    elif args.old is None or args.new is None:
        raise BnMigrateError("give OLD and NEW (programs, or FILE.py::builder FILE.py::Model)")
    options = CheckOptions(
        timeout=args.timeout,
        old_args=tuple(args.old_arg),
        new_args=tuple(args.new_arg),
        ulps=args.ulps,
        rtol=args.rtol,
        atol=args.atol,
        step_rtol=args.step_rtol,
        free_rtol=args.free_rtol,
        lockstep=not args.no_lockstep,
        old_repeats=args.old_repeats,
    )
    if args.from_report is not None:
        return _check_report_pairs(args, options)
    old, new = str(args.old), str(args.new)
    if is_model_ref(old) or is_model_ref(new):
        result = _check_models(args, options)
    else:
        result = check_programs(old, new, options, keep_dir=args.keep_dir, old_cache=args.old_cache)
    sys.stdout.write(result.render_text())
    if args.json:
        write_json(result, args.json)
    if args.plot:
        write_plot(result, args.plot)
    if result.verdict == "undecided" and result.reason:
        print(f"bn-migrate check: undecided: {result.reason}", file=sys.stderr)
    return result.exit_code


def _check_report_pairs(args: argparse.Namespace, options: Any) -> int:
    import json
    from pathlib import Path

    from bn_migrate.check.models import parse_shape
    from bn_migrate.check.report_pairs import check_report_pairs, exit_code, render_table

    report = Path(args.from_report)
    shape = parse_shape(args.input_shape) if args.input_shape is not None else None
    base = _model_options(args, shape or (1,))
    outcomes = check_report_pairs(
        report, base, options, shape, keep_dir=args.keep_dir, old_cache=args.old_cache
    )
    sys.stdout.write(render_table(report, outcomes))
    if args.json:
        document = {"report": str(report), "exit_code": exit_code(outcomes)}
        document["pairs"] = [o.to_json() for o in outcomes]
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return exit_code(outcomes)


def _check_models(args: argparse.Namespace, options: Any) -> Any:
    from bn_migrate.check.models import ModelRef, check_models, parse_shape

    if args.input_shape is None:
        raise BnMigrateError(
            "a model check needs --input-shape (one example's shape, e.g. 32,32,3)"
        )
    model_options = _model_options(args, parse_shape(args.input_shape))
    old = ModelRef.parse(args.old, "OLD")
    new = ModelRef.parse(args.new, "NEW")
    return check_models(
        old, new, model_options, options, keep_dir=args.keep_dir, old_cache=args.old_cache
    )


def _model_options(args: argparse.Namespace, input_shape: tuple[int, ...]) -> Any:
    from bn_migrate.check.models import ModelOptions, parse_assignments

    return ModelOptions(
        input_shape=input_shape,
        batch=args.batch,
        steps=args.steps,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        training_param=args.training_param,
        builder_args=parse_assignments(args.builder_arg, "--builder-arg"),
        new_args=parse_assignments(args.model_arg, "--model-arg"),
    )


def _refuse_outputs_over_programs(args: argparse.Namespace) -> None:
    """``--json``/``--plot`` naming OLD or NEW (or empty) would replace a program with a report."""
    from pathlib import Path

    given = [p for p in (args.old, args.new, args.from_report) if p]
    programs = {Path(p.rpartition("::")[0] or p).resolve() for p in given}
    for option, value in (("--json", args.json), ("--plot", args.plot)):
        if value is None:
            continue
        if value == "":
            raise BnMigrateError(f"{option} is empty (an unset variable?); give a path")
        if Path(value).resolve() in programs:
            raise BnMigrateError(f"{option} {value} is a program being checked; write it elsewhere")


CHECK_EPILOG = """\
A training step is a session.run (OLD) or an outermost tf.function call, Keras model/layer call or
apply_gradients (NEW) that changed a model variable (trainable variables and BN moving statistics;
optimizer slots and counters are not). NEW's variables start from OLD's initial values, paired by role,
name and shape. Lockstep: before each NEW step every paired variable is set to OLD's value before that
step, so a difference can only come from that step. OLD runs twice (4 times when it applies a BN layer
more than once per step: its update ops race), the second run with TensorFlow's oneDNN kernels
switched (the same maths, other float32 rounding); its own spread (x2) is added to the tolerance.

Tolerance per element: max(atol, rtol*|x|, ulps*ulp32(|x|), step_rtol*|d|), |x| the largest of the
value before the step and both values after it, d OLD's own change of the element in that step.
Defaults: 8 ulps, rtol 0, atol 1e-7, step_rtol 1e-4. Measured on correct migrations: moving statistics
within 1-2 ulps, optimizer-written weights within 7e-8 (Adam: 7e-6 of the update); planted mistakes
in the same programs differ by 4e-6 (fused variance, n=288) to 9e-2 (momentum 0.9 for 0.99).

Exit status:
  0  equivalent: every BN layer pair compared over >= 1 training step, every variable agrees in lockstep
  1  different: a variable differs beyond tolerance or a BN layer lost/gained a parameter; see diagnoses
  2  undecided: a side failed, timed out or used an API the legacy runtime cannot provide; a variable or
     BN layer could not be paired; no training step; step counts differ
  130/143  interrupted (Ctrl-C) / terminated (SIGTERM): the runs and the processes they started are
     killed and the temporary folder removed
"""


def _add_model_arguments(group: Any, model: str) -> None:
    """How the builder and the model are called (the model check and convert-checkpoint alike)."""
    group.add_argument(
        "--training-param", metavar="NAME", help="the builder's training-flag parameter"
    )
    group.add_argument(
        "--builder-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keyword argument for the builder, a Python literal (repeatable)",
    )
    group.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"keyword argument for {model}'s class, a Python literal (repeatable)",
    )


def _add_check_parser(sub: argparse._SubParsersAction) -> None:
    from bn_migrate.check.defaults import (
        DEFAULT_ATOL,
        DEFAULT_FREE_RTOL,
        DEFAULT_RTOL,
        DEFAULT_STEP_RTOL,
        DEFAULT_ULPS,
    )

    check = sub.add_parser(
        "check",
        help="prove a TF2 migration keeps the TF1 program's batch-norm statistics, step by step",
        description=(
            "Run OLD unmodified with TF1 semantics and NEW with TF2 + Keras 3, each in its own process, "
            "with the same seeds and initial weights; record every BN layer's moving statistics after each "
            "training step and compare them (and every other model variable), free-running and in lockstep."
        ),
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "old",
        nargs="?",
        help="the original TF1 program (.py or .ipynb), or FILE.py::builder (model check)",
    )
    check.add_argument(
        "new",
        nargs="?",
        help="the migrated TF2 program (.py or .ipynb), or FILE.py::Model (model check)",
    )
    check.add_argument(
        "--from-report",
        metavar="REPORT.json",
        help="model-check every (builder, model) pair in a rewrite report's 'models' entries, "
        "one summary table (with --input-shape for pairs that give none)",
    )
    check.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    check.add_argument(
        "--plot", metavar="FILE.png", help="plot each BN layer's difference by step (PNG)"
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds each run may take (default: 300)",
    )
    check.add_argument(
        "--old-arg",
        action="append",
        default=[],
        metavar="A",
        help="argument for OLD's sys.argv (repeatable)",
    )
    check.add_argument(
        "--new-arg",
        action="append",
        default=[],
        metavar="A",
        help="argument for NEW's sys.argv (repeatable)",
    )
    check.add_argument(
        "--ulps",
        type=float,
        default=DEFAULT_ULPS,
        help=f"lockstep tolerance in float32 ulps (default: {DEFAULT_ULPS:g})",
    )
    check.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        help=f"lockstep relative tolerance (default: {DEFAULT_RTOL:g})",
    )
    check.add_argument(
        "--atol",
        type=float,
        default=DEFAULT_ATOL,
        help=f"absolute tolerance (default: {DEFAULT_ATOL:g})",
    )
    check.add_argument(
        "--step-rtol",
        type=float,
        default=DEFAULT_STEP_RTOL,
        help=f"tolerance relative to OLD's own change of the value in the step "
        f"(default: {DEFAULT_STEP_RTOL:g})",
    )
    check.add_argument(
        "--free-rtol",
        type=float,
        default=DEFAULT_FREE_RTOL,
        help=f"relative tolerance of the free-running comparison with --no-lockstep "
        f"(default: {DEFAULT_FREE_RTOL:g})",
    )
    check.add_argument(
        "--no-lockstep",
        action="store_true",
        help="skip the lockstep run; judge the free-running runs with --free-rtol",
    )
    check.add_argument(
        "--old-repeats",
        type=int,
        default=2,
        metavar="N",
        help="runs of OLD, the second with oneDNN kernels switched, to measure its own "
        "spread and rounding noise (default: 2)",
    )
    models = check.add_argument_group(
        "model check (OLD is FILE.py::builder, NEW is FILE.py::Model; no program is run)",
        "Both models are trained the same way on synthetic inputs by generated driver programs, then "
        "compared as programs are. The builder's training flag is its parameter named is_training, "
        "training, phase_train, is_train or train.",
    )
    models.add_argument(
        "--input-shape",
        metavar="D,D,...",
        help="shape of one input example, e.g. 32,32,3 (required)",
    )
    models.add_argument("--batch", type=int, default=16, help="examples per step (default: 16)")
    models.add_argument("--steps", type=int, default=5, help="training steps (default: 5)")
    models.add_argument(
        "--optimizer",
        default="adam",
        choices=["adam", "sgd", "momentum"],
        help="TF1 optimizer and its Keras twin with TF1's settings (default: adam)",
    )
    models.add_argument(
        "--learning-rate", type=float, default=0.01, help="learning rate (default: 0.01)"
    )
    _add_model_arguments(models, "NEW")
    check.add_argument("--keep-dir", metavar="DIR", help="keep the runs' traces and output in DIR")
    check.add_argument(
        "--old-cache",
        metavar="DIR",
        help="reuse OLD's runs kept in DIR by earlier checks made under the same "
        "conditions (program, files it read, arguments, seed, environment, versions), "
        "and keep this check's OLD runs there (model checks too: the builder's driver is the "
        "original)",
    )
    check.set_defaults(func=_cmd_check)


def _cmd_convert_checkpoint(args: argparse.Namespace) -> int:
    require_tf_extra("convert-checkpoint")
    import json

    from bn_migrate.check.models import ModelRef, parse_assignments, parse_shape
    from bn_migrate.checkpoints.convert import ConvertOptions, convert_checkpoint
    from bn_migrate.checkpoints.sources import explicit_mapping, report_arguments

    model = ModelRef.parse(args.model, "MODEL")
    builder = ModelRef.parse(args.builder, "--builder") if args.builder is not None else None
    model_args, builder_args = report_arguments(args.mapping, args.model)
    options = ConvertOptions(
        input_shape=parse_shape(args.input_shape),
        builder=builder,
        verify=not args.no_verify,
        batch=args.batch,
        model_args={**model_args, **parse_assignments(args.model_arg, "--model-arg")},
        builder_args={**builder_args, **parse_assignments(args.builder_arg, "--builder-arg")},
        training_param=args.training_param,
        explicit=explicit_mapping(args.mapping, args.map, args.model),
        drops=tuple(args.drop),
        averages=args.averages,
        rtol=args.rtol,
        atol=args.atol,
        timeout=args.timeout,
    )
    result = convert_checkpoint(
        args.checkpoint, model, args.output, options, keep_dir=args.keep_dir
    )
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(result.render_text())
    if not result.written:
        print(f"bn-migrate convert-checkpoint: nothing written: {result.reason}", file=sys.stderr)
    return result.exit_code


CONVERT_EPILOG = """\
Pairs, in order: --mapping FILE.json ({"tf1/name": "new/weight/path" or null to drop}, or a
rewrite report's 'models' entry, whose model_args and builder_args then are the defaults of
--model-arg and --builder-arg), then --map OLD=NEW items; then names equal after normalisation
(case, ':0', an enclosing model scope on one side, contrib's BatchNorm scope as batch_normalization,
weights/biases as kernel/bias); then, within a layer already paired, the variable of the same role
and shape; then layers whose (role, shape) set no other unpaired layer shares. Creation order is
never used. Optimizer state (slots such as dense/kernel/Adam, beta1_power, global_step) is skipped
and listed. Anything left unpaired, ambiguous or of another shape fails the conversion unless
--drop GLOB names it: TF1 names first (not converted), else new weight paths (left as initialised).

Verification (unless --no-verify): the same N(0,1) inputs go through the TF1 builder restored from
the checkpoint (training flag False, under run-tf1's legacy runtime) and through a fresh instance
of MODEL that loaded the written file (training=False). Every weight must hold its TF1 value
exactly and the outputs must agree within --atol + --rtol x |TF1 output|. Each Keras BN layer is
placed where its input matches a TF1 BN layer's input (not by the mapping) and must give that
layer's output: a layer filled with another layer's weights is named.

The output is written only when everything agrees (atomically: a temporary file beside it, then
renamed). FILE.weights.h5 is for model.load_weights(FILE); any other path is a tf.train.Checkpoint
prefix, for tf.train.Checkpoint(model=model).read(PREFIX).

Exit status:
  0  written (and verified)
  1  not written: a variable could not be paired, or the verification found a difference
  2  not written: bad input, or a side failed (the message names it)
"""


def _add_convert_parser(sub: argparse._SubParsersAction) -> None:
    convert = sub.add_parser(
        "convert-checkpoint",
        help="convert a TF1 checkpoint into the migrated Keras model's weights, and prove it",
        description=(
            "Read a TF1 checkpoint (a Saver prefix, a folder with a 'checkpoint' file, an Estimator "
            "model_dir), pair every variable with a weight of the migrated Keras model MODEL, and "
            "write the weights MODEL loads; verified against the TF1 builder restored from the "
            "checkpoint."
        ),
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("checkpoint", help="TF1 checkpoint prefix, or a folder holding one")
    convert.add_argument("model", help="the migrated model: NEW.py::ClassOrInstance")
    convert.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="FILE.weights.h5 (Keras load_weights) or a tf.train.Checkpoint prefix",
    )
    convert.add_argument(
        "--input-shape",
        required=True,
        metavar="D,D,...",
        help="shape of one input example (MODEL is built by calling it once)",
    )
    convert.add_argument(
        "--builder", metavar="OLD.py::builder", help="the TF1 model function (for verification)"
    )
    convert.add_argument(
        "--no-verify", action="store_true", help="write without running the TF1 builder"
    )
    convert.add_argument(
        "--mapping", metavar="FILE.json", help="explicit TF1 name -> new weight path map"
    )
    convert.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="one explicit pair (repeatable; wins over --mapping)",
    )
    convert.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="NAME_OR_GLOB",
        help="TF1 variables not to convert / new weights to leave as initialised (repeatable)",
    )
    convert.add_argument(
        "--averages",
        action="store_true",
        help="each variable takes its <name>/ExponentialMovingAverage from the checkpoint, as TF1's "
        "ExponentialMovingAverage.variables_to_restore() restored it for evaluation",
    )
    convert.add_argument("--format", choices=["text", "json"], default="text")
    _add_model_arguments(convert, "MODEL")
    convert.add_argument("--batch", type=int, default=8, help="inputs compared (default: 8)")
    convert.add_argument(
        "--rtol", type=float, default=1e-5, help="output tolerance, relative (default: 1e-05)"
    )
    convert.add_argument(
        "--atol", type=float, default=1e-6, help="output tolerance, absolute (default: 1e-06)"
    )
    convert.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="seconds (default: 300)"
    )
    convert.add_argument("--keep-dir", metavar="DIR", help="keep the two runs' files in DIR")
    convert.set_defaults(func=_cmd_convert_checkpoint)


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
            "tf.contrib.layers/slim from tf-slim, tf.estimator from tensorflow-estimator 2.15. Exit status "
            "is the program's; 2 when it uses an API that cannot be emulated (other tf.contrib modules)."
        ),
    )
    run.add_argument("script", help="the program (.py or .ipynb)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    run.set_defaults(func=_cmd_run_tf1)

    rewrite = sub.add_parser(
        "rewrite",
        help="rewrite TF1 batch-norm training code as TF2 (in place, or as a diff, check or copy)",
        description=(
            "Rewrite TF1 batch-norm training programs (sessions, placeholders, UPDATE_OPS) as TF2\n"
            "programs with Keras layers, training= and a tf.function training step. Files are\n"
            "rewritten in place unless --diff, --check or --output-dir is given."
        ),
        epilog=REWRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rewrite.add_argument(
        "paths", nargs="+", metavar="PATH", help="Python files, notebooks or folders"
    )
    rewrite.add_argument("--diff", action="store_true", help="print unified diffs, write nothing")
    rewrite.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if anything would change"
    )
    rewrite.add_argument("--output-dir", metavar="DIR", help="write migrated copies under DIR")
    rewrite.add_argument("--report", metavar="FILE.json", help="write per-file results as JSON")
    rewrite.add_argument(
        "--format",
        choices=["text", "json", "sarif", "github"],
        default="text",
        help="what stdout carries: text (diffs; lines on stderr, the default), json (the --report "
        "document), sarif (SARIF 2.1.0) or github (workflow annotations)",
    )
    rewrite.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="RULES",
        help="report only these rules' left sites (ids or prefixes, comma-separated, repeatable)",
    )
    rewrite.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="RULES",
        help="hide these rules' left sites from output and --check (never rewrites a left file)",
    )
    rewrite.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="files rewritten in parallel (default: every CPU; 1 runs in this process)",
    )
    rewrite.add_argument(
        "--plain-keras-bn",
        action="store_true",
        help="emit plain Keras BatchNormalization where TF1 used the fused kernel (the report "
        "quantifies the moving-variance difference)",
    )
    rewrite.add_argument(
        "--fix-missing-updates",
        action="store_true",
        help="let statistics move where the original never ran its update ops (changes behaviour)",
    )
    rewrite.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="PATH",
        help="read the modules under PATH as a model library: each public builder is migrated as "
        "if a training program called it once (repeatable)",
    )
    rewrite.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line (it is shown only when stderr is a terminal)",
    )
    rewrite.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files and folders matching GLOB (repeatable)",
    )
    rewrite.set_defaults(func=_cmd_rewrite)
    _add_check_parser(sub)
    _add_convert_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run-tf1":  # the program's own signal handling and exit status
        return _run(args)
    with stop_on_signals() as signals:
        status = _run(args)
    if signals.exit_status == EXIT_TERMINATED:
        print("bn-migrate: terminated (SIGTERM): stopped cleanly", file=sys.stderr)
        return EXIT_TERMINATED
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except BnMigrateError as exc:
        print(f"bn-migrate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("bn-migrate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
