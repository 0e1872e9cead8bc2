"""Writing a check's report to files: ``--json FILE`` and ``--plot FILE.png``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bn_migrate.check.result import CheckResult
from bn_migrate.errors import BnMigrateError

# Differences of exactly zero cannot be drawn on a log scale; they are drawn at this floor.
PLOT_FLOOR = 1e-12


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise BnMigrateError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(result: CheckResult, path: str | os.PathLike[str]) -> None:
    text = json.dumps(result.to_json(), indent=2, sort_keys=False) + "\n"
    _write_atomically(Path(path), text.encode("utf-8"))


def write_plot(result: CheckResult, path: str | os.PathLike[str]) -> None:
    """Per BN layer pair: max |difference| of its moving statistics by step, lockstep and free-running."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BnMigrateError("--plot needs matplotlib; install bn-migrate[tf]") from None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    drawn = False
    for i, row in enumerate(result.layers):
        label = row.new or row.old or "?"
        color = f"C{i % 10}"
        if row.per_step_lock:
            ax.plot(
                [max(v, PLOT_FLOOR) for v in row.per_step_lock],
                "-o",
                color=color,
                markersize=3,
                label=f"{label} (lockstep)",
            )
            drawn = True
        if row.per_step_free:
            ax.plot(
                [max(v, PLOT_FLOOR) for v in row.per_step_free],
                "--",
                color=color,
                label=f"{label} (free)",
            )
            drawn = True
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("max |new - old| (moving mean/variance)")
    ax.set_title(
        f"{result.verdict}: {Path(result.old).name} vs {Path(result.new).name}", fontsize=10
    )
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(
            0.5,
            0.5,
            result.reason or "nothing compared",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=8,
            wrap=True,
        )
    fig.tight_layout()
    tmp = Path(path).with_name(Path(path).name + ".tmp.png")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    except OSError as exc:
        raise BnMigrateError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
