"""``tf.Session(config=...)`` -> TF2 runtime settings made after the imports (``analysis.session_config``).

TF2 has no session; the options a session's ConfigProto set (``api.SESSION_CONFIG_SETTINGS``: soft
device placement, placement logging, thread pools, GPU memory growth) are process-wide calls
(``tf.config.set_soft_device_placement(True)``, ``tf.config.threading.set_intra_op_parallelism_threads(2)``,
``tf.config.experimental.set_memory_growth``...) that must run before TensorFlow starts its runtime
(threads and devices cannot change after), so they are made right after the imports (``ctx.setup``), and
the lines that made the config are removed. A config that is not read leaves the session with the reason.
"""

from __future__ import annotations

import libcst as cst

from bn_migrate.rewrite import api_tables as api
from bn_migrate.rewrite.analysis.session_config import ConfigRefusal
from bn_migrate.rewrite.context import Context

RULE = "BN007"


def plan_session_config(ctx: Context, call: cst.Call) -> bool:
    """Migrate the session call's ``config=`` (True: nothing blocks the session's arguments; False:
    left with the reason). ``graph=`` is the session planner's."""
    extra = [
        a for a in call.args if a.keyword is None or a.keyword.value not in ("graph", "config")
    ]
    if extra:
        ctx.leave(
            RULE,
            call,
            "Session arguments other than graph= and config= (the target, positional ones) are not "
            "migrated",
        )
        return False
    config = ctx.program.session_config
    if config is None:
        return True
    if isinstance(config, ConfigRefusal):
        at = ctx.positions[config.at].start.line if config.at is not None else 0
        ctx.leave(
            RULE, config.node, f"Session config: {config.reason.format(line=at)}; not migrated"
        )
        return False
    for path, value in config.settings.items():
        template = api.SESSION_CONFIG_SETTINGS[path][1]
        source = template.format(value=cst.Module(body=[]).code_for_node(value))
        ctx.setup.append(cst.parse_module(source + "\n").body[0])
    for made in config.lines:
        ctx.remove(RULE, made, "session config -> TF2 runtime settings after the imports")
    shown = ", ".join(config.settings) or "no option"
    ctx.apply(RULE, call, f"Session config ({shown}) -> TF2 runtime settings after the imports")
    return True
