"""One build folder -> the rows of ``table4.json``: the accelerator's row and the CPU rows, every figure
with its source, and the task's baseline (the fastest CPU runtime within 1 point of float accuracy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpga_flow.report.reference import SHORT, TABLE4
from fpga_flow.runtime.buildinfo import SYNTH_JSON, read_estimates, read_flow, read_json
from fpga_flow.table4.cpu_rows import CpuRow, fair, float_accuracy, score, task_metric, test_images

TASK_WORD = {"cls": "Classification", "seg": "Segmentation"}
RESOURCE_KEYS = ("lut", "ff", "dsp", "bram18", "uram")


def _input(cfg: dict) -> str:
    s = cfg.get("image_size")
    return f"{s}x{s}" if s else "?"


def _weights(cfg: dict) -> str:
    data = cfg.get("data")
    return "trained" + (" (synthetic ISIC)" if data in (None, "None") else f" ({Path(str(data)).name})")


def _bits_label(model: str, cfg: dict) -> str:
    """The design's bit widths as the flow built them (``FlowConfig.bits``: the build's --wbits/--abits, else
    its row's; a recorded None means the row's)."""
    from fpga_flow.errors import FlowError
    from fpga_flow.flow.config import FlowConfig

    w, a = cfg.get("wbits"), cfg.get("abits")
    try:
        return FlowConfig(model=model, wbits=w, abits=a).bits.label()
    except FlowError:  # a build of a model that is no Table 4 row: only what it recorded
        return f"W{w or '?'}A{a or '?'}"


def resources(bdir: Path) -> dict | None:
    """Yosys counts when synthesis ran, else the compiler's estimate; ``fits`` against the board budget."""
    synth = read_json(bdir / SYNTH_JSON)
    if isinstance(synth, dict) and isinstance(synth.get("total"), dict):
        t = {str(k).lower(): v for k, v in synth["total"].items()}
        out = {k: t.get(k) for k in RESOURCE_KEYS}
        return out | {"fits": synth.get("fits"), "budget": synth.get("budget"), "source": "yosys"}
    est = read_estimates(bdir)
    if est is None:
        return None
    tot = est.raw.get("total") or {}
    low = {str(k).lower(): v for k, v in est.resources.items()}
    return {k: low.get(k) for k in RESOURCE_KEYS} | {"fits": tot.get("fits"), "budget": tot.get("budget"),
                                                      "source": "estimate"}


def accuracies(bdir: Path, task: str, cpu: list[CpuRow]) -> dict:
    """float (PyTorch fp32), quantized (QONNX as QCDQ on onnxruntime) and hardware (rtlsim) on the same images."""
    x, y = test_images(bdir)
    acc = {"metric": task_metric(task), "float": float_accuracy(cpu), "quantized": None, "hardware": None,
           "n_images": int(len(y))}
    pred_hw = bdir / "sim" / "test_pred.npy"
    if pred_hw.is_file():
        acc["hardware"] = score(task, y, np.load(pred_hw))
    if (bdir / "model.qonnx.onnx").is_file():
        from fpga_flow.errors import FlowError
        from fpga_flow.runtime.driver import Accelerator

        try:
            with Accelerator("cpu-onnxruntime", bdir, onnx=bdir / "model.qonnx.onnx") as q:
                acc["quantized"] = score(task, y, q.execute(x).pred)
        except FlowError as err:
            acc["quantized_error"] = str(err)
    return acc


def fpga_row(bdir: Path, model: str, board: str, task: str, acc: dict) -> dict:
    """The accelerator's row: rtlsim figures when simulated, else the compiler's estimate."""
    flow = read_flow(bdir)
    cfg = flow.get("config") or {}
    bench = read_json(bdir / "bench" / "rtlsim.json")
    est = read_estimates(bdir)
    if bench:
        fps, lat, source = bench["fps"]["median"], bench["latency_ms"]["median"], "rtlsim"
        clock = (bench.get("details") or {}).get("clock_mhz")
    elif est is not None and est.fps:
        fps, lat, source, clock = est.fps, est.latency_ms or 1e3 / est.fps, "estimate", est.clock_mhz
    else:
        fps = lat = clock = None
        source = "missing"
    clock = clock or (est.clock_mhz if est else None)
    wq = _bits_label(model, cfg)
    return {"kind": "fpga", "task": TASK_WORD[task], "model": model, "device": f"FPGA {board}", "board": board,
            "clock_mhz": clock, "input": _input(cfg), "weights": _weights(cfg), "numeric_format": wq,
            "fps": fps, "latency_ms": lat, "source": source, "noisy": False, "speedup": None, "baseline": None,
            "accuracy": acc, "resources": resources(bdir), "status": "ok" if fps else "no rtlsim or estimate figures"}


def _short(fmt: str) -> str:
    return fmt.split(" (")[0] if fmt else "?"


def _threads(n: int | None) -> str:
    return f"{n} thread" + ("" if n == 1 else "s") if n else "? threads"


def cpu_row_dict(r: CpuRow, model: str, task: str, cfg: dict, acc: dict) -> dict:
    own = {"metric": acc["metric"], "float": acc["float"], "quantized": None, "hardware": None,
           "n_images": acc["n_images"], "this_row": r.accuracy}
    return {"kind": "cpu", "task": TASK_WORD[task], "model": model, "backend": r.backend,
            "device": f"CPU {r.label} ({_short(r.numeric_format)}, {_threads(r.threads)}) - {r.device}".rstrip(" -"),
            "board": None, "clock_mhz": None, "input": _input(cfg), "weights": _weights(cfg),
            "numeric_format": r.numeric_format, "runtime": r.runtime, "threads": r.threads,
            "fps": r.fps, "latency_ms": r.latency_ms, "latency_min_ms": r.latency_min_ms,
            "latency_max_ms": r.latency_max_ms, "runs": r.runs, "source": "measured" if r.fps else "not run",
            "noisy": r.noisy, "noise": r.noise, "speedup": None, "baseline": None, "accuracy": own,
            "fair_baseline": fair(r, acc["float"]), "resources": None,
            "status": "ok" if r.error is None else f"not run: {r.error}"}


def baseline_name(row: dict) -> str:
    return f"{row['model']} on {row['device'].split(' - ')[0].removeprefix('CPU ')}"


def apply_speedups(rows: list[dict]) -> None:
    """Per task: the fastest fair CPU row is the baseline; every row's speedup divides by it and names it."""
    for task in {r["task"] for r in rows}:
        cpu = [r for r in rows if r["task"] == task and r["kind"] == "cpu" and r.get("fair_baseline")]
        if not cpu:
            continue
        base = max(cpu, key=lambda r: r["fps"])
        name = baseline_name(base) + (" [noisy timing]" if base["noisy"] else "")
        for r in rows:
            if r["task"] == task and r.get("fps"):
                r["speedup"], r["baseline"] = r["fps"] / base["fps"], name
        base["is_baseline"] = True


def reference_rows() -> list[dict]:
    return [{"task": r.task, "model": r.model, "device": r.device, "latency_ms": float(r.time_ms), "fps": r.fps_value,
             "speedup": r.speedup_value, "source": f"reference ({SHORT})"} for r in TABLE4]
