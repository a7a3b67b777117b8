"""What the PYNQ notebooks do, as functions (numpy + matplotlib only) so the notebooks stay short
and the same code runs on the board, on rtlsim in CI, and in the tests."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np


def import_driver(deploy_dir: str | Path) -> None:
    """Make ``fpga_flow.runtime`` importable: the installed package, else the deploy folder's copy."""
    try:
        import fpga_flow.runtime.driver  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(deploy_dir).resolve() / "driver"))


def open_accelerator(backend: str, deploy_dir: str | Path, build_dir: str | Path | None = None):
    """The accelerator behind ``backend``: pynq uses the deploy folder (bitfile), rtlsim the build folder,
    cpu-* the deploy folder's float model."""
    from fpga_flow.runtime.driver import Accelerator

    deploy = Path(deploy_dir).resolve()
    if backend == "pynq":
        return Accelerator("pynq", deploy)
    if backend == "rtlsim":
        return Accelerator("rtlsim", Path(build_dir).resolve() if build_dir else deploy.parent)
    if backend == "cpu-onnxruntime":
        return Accelerator("cpu-onnxruntime", deploy, onnx=deploy / "model.onnx")
    return Accelerator(backend, deploy)


def check_outputs(result, expected: np.ndarray, expected_pred: np.ndarray | None, exact: bool) -> dict:
    """Compare with the deploy folder's expected outputs. ``exact``: the integer outputs must match."""
    out = {"images": int(len(expected))}
    if result.raw is not None:
        same = [bool(np.array_equal(a, b)) for a, b in zip(result.raw, expected)]
        out["bit_exact_images"] = int(sum(same))
        if exact and not all(same):
            raise AssertionError(f"accelerator output differs from the expected output on images "
                                 f"{[i for i, s in enumerate(same) if not s]}")
    if expected_pred is not None:
        out["prediction_agreement"] = float(np.mean(np.asarray(result.pred) == np.asarray(expected_pred)))
    return out


def show_classification(images: np.ndarray, pred: np.ndarray, expected: np.ndarray | None = None,
                        labels: np.ndarray | None = None, classes: list[str] | None = None, n: int = 8):
    """The first ``n`` images titled with the predicted and true class (names when ``classes`` is given):
    green when the prediction matches the true label, red when not, black without labels. A prediction
    that differs from the expected hardware output is marked "≠ expected"."""
    import matplotlib.pyplot as plt

    n = min(n, len(images))
    fig, axes = plt.subplots(1, n, figsize=(2.2 * n, 2.8), squeeze=False)
    for i, ax in enumerate(axes[0]):
        rgb = images[i].transpose(1, 2, 0)
        ax.imshow((rgb - rgb.min()) / (np.ptp(rgb) + 1e-9))
        title = f"pred {class_name(int(pred[i]), classes)}"
        if labels is not None:
            title += f"\ntrue {class_name(int(labels[i]), classes)}"
        if expected is not None and int(expected[i]) != int(pred[i]):
            title += "\n≠ expected"
        ax.set_title(title, fontsize=8, color=title_colour(pred[i], None if labels is None else labels[i]))
        ax.axis("off")
    fig.tight_layout()
    return fig


def class_name(index: int, classes: list[str] | None) -> str:
    return classes[index] if classes and 0 <= index < len(classes) else str(index)


def title_colour(pred, label) -> str:
    """Green for a right prediction, red for a wrong one: against the true label, never the expected output."""
    if label is None:
        return "black"
    return "green" if int(pred) == int(label) else "red"


LABEL_CHARS = 26  # bar label width in characters


def plot_fps(accel: dict, cpu: dict | None):
    """Bars of frames/s (log scale) for the accelerator and the CPU, the speedup in the title, value labels
    inside the panel."""
    import matplotlib.pyplot as plt

    rows = [(f"accelerator\n[{accel.get('source', '')}]", accel["throughput_fps"], "tab:orange")]
    if cpu:
        device = textwrap.fill(f"CPU {cpu.get('device', '')}", LABEL_CHARS)  # a long name squeezed the bars
        rows.insert(0, (f"{device}\n[{cpu.get('source', 'measured')}]", cpu["throughput_fps"], "tab:blue"))
    fig, ax = plt.subplots(figsize=(7, 3))
    bars = ax.barh([r[0] for r in rows], [r[1] for r in rows], color=[r[2] for r in rows])
    ax.set_xscale("log")
    ax.set_xlim(min(r[1] for r in rows) / 3, max(r[1] for r in rows) * 8)  # room for the labels
    for bar, (_, fps, _) in zip(bars, rows):
        ax.text(fps * 1.15, bar.get_y() + bar.get_height() / 2, f"{fps:,.1f} FPS", va="center", fontsize=8)
    ax.set_xlabel("frames per second, batch 1 (log scale)")
    speed = f": speedup {accel['throughput_fps'] / cpu['throughput_fps']:.2f}×" if cpu else ": no CPU baseline"
    ax.set_title("accelerator vs CPU" + speed, fontsize=9)
    fig.tight_layout()
    return fig


def show_segmentation(images: np.ndarray, masks: np.ndarray, labels: np.ndarray | None = None, n: int = 4):
    import matplotlib.pyplot as plt

    n = min(n, len(images))
    fig, axes = plt.subplots(1, n, figsize=(2.8 * n, 3), squeeze=False)
    for i, ax in enumerate(axes[0]):
        rgb = images[i].transpose(1, 2, 0)
        ax.imshow((rgb - rgb.min()) / (np.ptp(rgb) + 1e-9))
        from matplotlib.colors import ListedColormap

        ax.imshow(np.ma.masked_where(masks[i] == 0, masks[i]), cmap=ListedColormap(["red"]), alpha=0.45)
        if labels is not None and labels[i].any():
            ax.contour(labels[i], levels=[0.5], colors="cyan", linewidths=1)
        ax.set_title(f"image {i}: mask (red)" + (", truth (cyan)" if labels is not None else ""), fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


BOARD_CPU_RUNTIMES = ("cpu-onnxruntime", "cpu-openvino")  # what a PYNQ image may have for an ONNX model


def cpu_baseline(deploy_dir: str | Path, images: np.ndarray, repeats: int = 30,
                 runtimes: tuple[str, ...] = BOARD_CPU_RUNTIMES) -> dict | None:
    """FPS of the float model on this machine's CPU (on a board: its ARM cores) with every CPU runtime
    installed here; the fastest one, naming its runtime, format and threads, with ``tried`` saying what
    each other runtime gave or why it did not run. None when no runtime could run the model."""
    from fpga_flow.errors import FlowError
    from fpga_flow.runtime.bench import bench_accelerator
    from fpga_flow.runtime.driver import Accelerator

    onnx = Path(deploy_dir) / "model.onnx"
    if not onnx.is_file():
        return None
    tried, best = {}, None
    for name in runtimes:
        try:
            with Accelerator(name, deploy_dir, onnx=onnx) as acc:
                r = bench_accelerator(acc, model=str(deploy_dir), board="cpu", warmup=2, repeats=repeats,
                                      images=images[:1], max_rounds=2)
        except FlowError as err:
            tried[name] = str(err)
            continue
        row = {"backend": name, "source": "measured", "throughput_fps": r.fps.median, "latency_ms": r.latency_ms.median,
               "runtime": r.runtime, "numeric_format": r.numeric_format, "threads": r.threads,
               "device": f"{r.device}; {r.runtime} {r.numeric_format}, {r.threads} threads",
               "stability": r.stability}
        tried[name] = f"{row['throughput_fps']:.2f} FPS ({r.runtime}, {r.numeric_format})"
        if best is None or row["throughput_fps"] > best["throughput_fps"]:
            best = row
    if best is not None:
        best["tried"] = tried
    return best


def summary(deploy_dir: str | Path, backend: str, checks: dict, accel: dict, cpu: dict | None) -> dict:
    s = {"backend": backend, "checks": checks, "accelerator": accel, "cpu": cpu,
         "speedup_vs_cpu": (accel["throughput_fps"] / cpu["throughput_fps"]) if cpu else None}
    (Path(deploy_dir) / f"notebook_results_{backend}.json").write_text(json.dumps(s, indent=2, default=str))
    return s
