"""One side of a checkpoint conversion, in its own process: ``python -m bn_migrate.checkpoints.worker
CONFIG.json``. Writes ``result.json`` (and ``values.npz``) into the configured folder, whatever happens.

- ``new`` (TF2 + Keras 3): reads the TF1 checkpoint (``tf.train.load_checkpoint``, no legacy runtime
  needed), builds the migrated model by calling it once, plans the mapping
  (:mod:`bn_migrate.checkpoints.mapping`), assigns every pair, writes the new file to the given temporary
  path, then loads that file into a fresh instance of the model (a second import of its module) and runs
  the inputs through it with ``training=False``: its outputs and every weight as loaded.
- ``old`` (TF1 semantics, the legacy runtime of ``run-tf1``): calls the builder with its training flag
  ``False`` in a graph, restores the builder's variables from the checkpoint with a ``tf.train.Saver``
  and runs the same inputs: its outputs and every variable as restored.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from bn_migrate.check.roles import AVERAGE_COMPONENT
from bn_migrate.definitions import load_definitions

RESULT_JSON = "result.json"
VALUES_NPZ = "values.npz"


class UserError(Exception):
    """A problem with the user's checkpoint, model or builder: reported as one line."""


def inputs(config: dict[str, Any]) -> Any:
    import numpy as np

    shape = (config["batch"], *config["input_shape"])
    return np.random.RandomState(config["seed"]).randn(*shape).astype(np.float32)


def load_attribute(path: str, name: str, module_name: str) -> Any:
    """``name`` from the file at ``path``, loaded for its definitions only (a training script's own
    graph and loop do not run) as ``module_name`` (a second call with another module name gives fresh
    objects)."""
    module = load_definitions(path, name, module_name)
    if not hasattr(module, name):
        raise UserError(f"{path}: defines no {name!r}")
    return getattr(module, name)


def resolve_checkpoint(tf: Any, location: str) -> str:
    """The checkpoint prefix: a folder's latest checkpoint (its ``checkpoint`` file), or the prefix."""
    if Path(location).is_dir():
        latest = tf.train.latest_checkpoint(location)
        if latest is None:
            raise UserError(f"{location}: its 'checkpoint' file names no checkpoint that exists")
        return str(latest)
    return location


def first_output(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return out[0]
    if isinstance(out, dict):
        return next(iter(out.values()))
    return out


def run_new(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import numpy as np
    import tensorflow as tf

    from bn_migrate.checkpoints.mapping import Variable, make_plan

    prefix = resolve_checkpoint(tf, config["checkpoint"])
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as exc:
        raise UserError(
            f"{prefix}: not a readable TF1 checkpoint ({exc.__class__.__name__})"
        ) from None
    shapes = reader.get_variable_to_shape_map()
    if any(".ATTRIBUTES" in name for name in shapes):
        raise UserError(
            f"{prefix}: an object-based (TF2) checkpoint; this converts TF1 name-based checkpoints "
            "(tf.train.Saver): load it with tf.train.Checkpoint"
        )
    old = [Variable(name, tuple(int(d) for d in shape)) for name, shape in sorted(shapes.items())]
    data = inputs(config)
    model = _build(tf, config, data, "_bn_migrate_convert_a")
    weights = list(model.weights)
    paths = [w.path for w in weights]
    if len(set(paths)) != len(paths):
        raise UserError(f"{config['model_label']}: two weights share a path; name the layers")
    new = [Variable(w.path, tuple(int(d) for d in w.shape)) for w in weights]
    explicit = {k: (v[0], v[1]) for k, v in config["explicit"].items()}
    plan = make_plan(old, new, explicit, config["drops"])
    result: dict[str, Any] = {"checkpoint": prefix, "plan": plan.to_json(), "weights": paths}
    if not plan.ok:
        return result
    by_path = {w.path: w for w in weights}
    sources = {pair.old: pair.old for pair in plan.pairs}
    if config.get("averages"):
        sources = averaged_sources(prefix, sources, shapes)
        result["averaged"] = sorted(old for old, source in sources.items() if source != old)
    for pair in plan.pairs:
        target = by_path[pair.new]
        target.assign(reader.get_tensor(sources[pair.old]).astype(target.dtype))
    _write(tf, model, config["output"])
    fresh = _build(tf, config, data, "_bn_migrate_convert_b")
    if len(fresh.weights) != len(weights):
        raise UserError(f"{config['model_label']}: a second instance has other weights")
    _read(tf, fresh, config["output"])
    calls = _record_bn_layers(tf, fresh, paths)
    out = first_output(fresh(data, training=False))
    values = {f"w:{p}": np.asarray(w.numpy()) for p, w in zip(paths, fresh.weights, strict=True)}
    # A layer applied twice has no one input to compare; one traced in a tf.function has no values.
    recorded = {layer: seen[0] for layer, seen in calls.items() if len(seen) == 1 and seen[0]}
    for layer, (x, y) in recorded.items():
        values[f"in:{layer}"], values[f"out:{layer}"] = x, y
    _save_arrays(folder, {"output": np.asarray(out), **values})
    result["bn_layers"] = list(recorded)
    return result


def _record_bn_layers(tf: Any, model: Any, paths: list[str]) -> dict[str, list[Any]]:
    """Record each Keras BatchNormalization layer's input and output in the next call of *model*, by
    the layer's path (its weights' prefix, as *paths* name the weights of the first instance)."""
    import numpy as np

    from bn_migrate.check.roles import prefix_of

    index = {id(w): i for i, w in enumerate(model.weights)}
    calls: dict[str, list[Any]] = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, tf.keras.layers.BatchNormalization) or not layer.weights:
            continue
        key = prefix_of(paths[index[id(layer.weights[0])]])
        seen = calls.setdefault(key, [])

        def call(
            inputs: Any, *args: Any, _call: Any = layer.call, _seen: Any = seen, **kw: Any
        ) -> Any:
            out = _call(inputs, *args, **kw)
            try:
                _seen.append((np.asarray(inputs), np.asarray(out)))
            except (TypeError, ValueError, NotImplementedError):  # traced in a tf.function
                _seen.append(None)
            return out

        layer.call = call
    return calls


def _save_arrays(folder: Path, arrays: dict[str, Any]) -> None:
    import numpy as np

    np.savez(folder / VALUES_NPZ, **arrays)


def _build(tf: Any, config: dict[str, Any], data: Any, module_name: str) -> Any:
    model = load_attribute(config["model_path"], config["model_name"], module_name)
    if isinstance(model, type):
        model = model(**config["model_args"])
    if not isinstance(model, tf.keras.layers.Layer):
        raise UserError(f"{config['model_label']} is not a Keras Layer or Model class or instance")
    model(data, training=False)
    return model


def _write(tf: Any, model: Any, output: str) -> None:
    if output.endswith(".weights.h5"):
        model.save_weights(output)
    else:
        tf.train.Checkpoint(model=model).write(output)


def _read(tf: Any, model: Any, output: str) -> None:
    if output.endswith(".weights.h5"):
        model.load_weights(output)
    else:
        tf.train.Checkpoint(model=model).read(output).assert_existing_objects_matched()


AVERAGE_SUFFIX = "/" + AVERAGE_COMPONENT  # TF1's default name of an ExponentialMovingAverage shadow


def averaged_sources(prefix: str, sources: dict[str, str], stored: Any) -> dict[str, str]:
    """``--averages``: each TF1 variable read from its ``<name>/ExponentialMovingAverage`` where the
    checkpoint holds one (what TF1's ``ExponentialMovingAverage.variables_to_restore()`` restores for an
    evaluation; the BN moving statistics, never averaged, keep their own values). A checkpoint without
    any average is an error: the flag would change nothing."""
    averaged = {old: old + AVERAGE_SUFFIX for old in sources if old + AVERAGE_SUFFIX in stored}
    if not averaged:
        raise UserError(
            f"{prefix}: --averages, but the checkpoint holds no <variable>{AVERAGE_SUFFIX} of the "
            "model's variables (was it trained with tf.train.ExponentialMovingAverage, and saved "
            "with the averages?)"
        )
    return {**sources, **averaged}


def run_old(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    import numpy as np

    from bn_migrate.check.roles import clean_name, path_matches
    from bn_migrate.runtime.legacy import install

    tf = install()
    prefix = resolve_checkpoint(tf, config["checkpoint"])
    stored = set(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
    builder = load_attribute(config["builder_path"], config["builder_name"], "_bn_migrate_builder")
    kwargs = dict(config["builder_args"])
    flag = config["training_param"] or _training_parameter(builder, config["training_candidates"])
    if flag is not None:
        kwargs[flag] = False
    tf.set_random_seed(config["seed"])  # the workers run with TF_DETERMINISTIC_OPS=1
    data = inputs(config)
    x = tf.placeholder(tf.float32, [None, *config["input_shape"]], name="inputs")
    out = first_output(builder(x, **kwargs))
    names: dict[str, Any] = {}
    missing = []
    for variable in tf.global_variables():
        name = clean_name(variable.name)
        match = (
            [name] if name in stored else [s for s in stored if path_matches(s, name) and s != name]
        )
        if len(match) == 1:
            names[match[0]] = variable
        else:
            missing.append(name)
    if missing:
        raise UserError(
            f"{config['builder_label']} creates {', '.join(missing)}, which the checkpoint "
            f"{prefix} does not hold (is it this model's checkpoint?)"
        )
    layers = bn_boundaries(tf, {n: v.op.name for n, v in names.items()})
    fetches = {f"{side}:{layer}": t for layer, ends in layers.items() for side, t in ends.items()}
    restored = names
    if config.get("averages"):  # restore each variable from its average, as variables_to_restore()
        sources = averaged_sources(prefix, {n: n for n in names}, stored)
        restored = {sources[n]: v for n, v in names.items()}
    with tf.Session() as session:
        tf.train.Saver(var_list=restored).restore(session, prefix)
        output, values, ends = session.run([out, names, fetches], {x: data})
    arrays = {f"v:{n}": np.asarray(v) for n, v in values.items()}
    arrays.update({key: np.asarray(v) for key, v in ends.items()})
    _save_arrays(folder, {"output": np.asarray(output), **arrays})
    return {"checkpoint": prefix, "training_param": flag, "bn_layers": list(layers)}


def bn_boundaries(tf: Any, variables: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each BN layer's input and output tensors in the default graph, by its checkpoint prefix.

    *variables*: checkpoint name -> the graph variable's op name. A layer is the scope of its
    variables; its input is the one float tensor made outside the scope and read inside it, its output
    the one float tensor made inside and read outside (tf.layers, contrib's fused kernel and graph-mode
    tf.keras alike). A scope with more than one of either is left out."""
    from bn_migrate.check.roles import bn_layers, prefix_of

    graph = tf.get_default_graph()
    operations = graph.get_operations()
    found = {}
    for layer, roles in bn_layers(variables).items():
        scope = prefix_of(variables[roles["moving_mean"]]) + "/"
        inside = {op.name for op in operations if op.name.startswith(scope)}
        entering: set[Any] = set()
        leaving: set[Any] = set()
        for op in operations:
            if op.name not in inside:
                continue
            entering.update(
                t for t in op.inputs if t.op.name not in inside and t.dtype == tf.float32
            )
            for t in op.outputs:
                if t.dtype == tf.float32 and any(c.name not in inside for c in t.consumers()):
                    leaving.add(t)
        if len(entering) == 1 and len(leaving) == 1:
            found[layer] = {"in": entering.pop(), "out": leaving.pop()}
    return found


def _training_parameter(builder: Any, candidates: list[str]) -> str | None:
    try:
        names = list(inspect.signature(builder).parameters)
    except (TypeError, ValueError):
        return None
    return next((n for n in candidates if n in names), None)


def describe_failure(exc: BaseException, config: dict[str, Any]) -> str:
    """``Type: first line of the message (FILE:LINE)``, the place being the innermost frame in the
    folder of the user's model or builder file when there is one."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    summary = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    path = config.get("model_path") or config.get("builder_path")
    if path is None:
        return summary
    folder = Path(path).parent
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if folder in Path(f.filename).parents and "site-packages" not in f.filename
    ]
    return f"{summary} ({frames[-1].filename}:{frames[-1].lineno})" if frames else summary


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    folder = Path(config["out"])
    try:
        runner = run_old if config["side"] == "old" else run_new
        result = {"state": "ok", **runner(config, folder)}
    except UserError as exc:
        result = {"state": "failed", "message": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - the user's code failed: report it, with its traceback
        traceback.print_exc()
        result = {"state": "failed", "message": describe_failure(exc, config)}
    (folder / RESULT_JSON).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
