"""Gather what exists in one build folder into a ``ModelReport``; note what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpga_flow.runtime.buildinfo import (ESTIMATES_JSON, METRICS_JSON, SYNTH_JSON, Estimates, dataflow_macs,
                                         read_benches, read_estimates, read_flow, read_json)

TASK_WORD = {"cls": "Classification", "seg": "Segmentation"}
CPU_BACKENDS = ("cpu-torch", "cpu-onnxruntime", "cpu-onnxruntime-int8", "cpu-openvino", "cpu-openvino-f32",
                "cpu-openvino-int8", "cpu-onnxruntime-quant")
FPGA_ORDER = {"estimate": 0, "rtlsim": 1, "pynq": 2}


@dataclass
class PerfRow:
    """One row of our Table-4-style table."""

    task: str
    model: str
    device: str
    backend: str
    time_ms: float
    fps: float
    source: str  # measured | rtlsim | estimate
    speedup: float | None = None  # vs the fastest CPU runtime we measured
    noisy: bool = False  # a measured timing that never settled (runtime.timing)

    @property
    def is_cpu(self) -> bool:
        return self.backend.startswith("cpu")


@dataclass
class ModelReport:
    folder: Path
    model: str
    board: str
    task: str
    rows: list[PerfRow] = field(default_factory=list)
    estimates: Estimates | None = None
    synth: dict | None = None
    metrics: dict | None = None
    io: dict | None = None
    config: dict = field(default_factory=dict)  # the flow's settings (input size, width, bit widths)
    prune: dict | None = None  # prune_report.json of the prune stage
    missing: list[str] = field(default_factory=list)

    @property
    def has_figures(self) -> bool:
        """Anything to report: a performance row, synthesis counts or accuracies."""
        return bool(self.rows or self.synth or self.metrics)

    @property
    def cpu_baseline(self) -> PerfRow | None:
        cpu = [r for r in self.rows if r.is_cpu and r.source == "measured"]
        return max(cpu, key=lambda r: r.fps) if cpu else None


def _known_boards(root: Path) -> list[str]:
    boards = Path(__file__).resolve().parents[2] / "boards"
    return sorted((p.stem for p in boards.glob("*.yaml")), key=len, reverse=True) if boards.is_dir() else []


def split_name(folder: Path) -> tuple[str, str]:
    """``vgg16-pruned-Pynq-Z2`` -> (``vgg16-pruned``, ``Pynq-Z2``), using the board YAML names."""
    name = folder.name
    for board in _known_boards(folder) + ["Pynq-Z1", "Pynq-Z2", "Ultra96-V2", "ZCU104", "KV260"]:
        if name.endswith("-" + board):
            return name[: -len(board) - 1], board
    model, _, board = name.rpartition("-")
    return (model or name), board


def _device(bench: dict) -> str:
    backend, dev = bench.get("backend", "?"), bench.get("device", "")
    if backend.startswith("cpu"):
        if bench.get("runtime"):  # benches that record their runtime, numeric format and threads
            what = f"{bench['runtime']} {bench.get('numeric_format', '').split(' (')[0]}, {bench.get('threads')} threads"
            quant = " (QONNX as QCDQ)" if backend.endswith("quant") and "QCDQ" not in what else ""
            return f"CPU {what}{quant}" + (f" — {dev}" if dev else "")
        runtime = "PyTorch" if backend == "cpu-torch" else "onnxruntime" + (" QCDQ" if backend.endswith("quant") else "")
        return f"CPU {runtime}" + (f" — {dev}" if dev else "")
    clock = (bench.get("details") or {}).get("clock_mhz")
    board = bench.get("board", "")
    kind = {"estimate": "estimate", "rtlsim": "Verilator", "pynq": "board"}.get(backend, backend)
    return f"FPGA {board} ({kind}" + (f", {clock:g} MHz)" if clock else ")")


def collect(folder: str | Path) -> ModelReport:
    folder = Path(folder)
    flow = read_flow(folder)
    model, board = split_name(folder)
    model, board = flow.get("model", model), flow.get("board", board)
    io = read_json(folder / "io.json")
    task = flow.get("task") or (io or {}).get("task") or ("seg" if "seg" in model.lower() else "cls")
    task = {"classification": "cls", "segmentation": "seg"}.get(task, task)
    rep = ModelReport(folder, model, board, task, io=io, config=dict(flow.get("config") or {}))
    rep.estimates = read_estimates(folder)
    if rep.estimates is not None and not rep.estimates.macs_per_frame:
        rep.estimates.macs_per_frame = dataflow_macs(folder)
    rep.synth = read_json(folder / SYNTH_JSON)
    rep.metrics = read_json(folder / METRICS_JSON)
    rep.prune = read_json(folder / "prune_report.json")
    for bench in read_benches(folder):
        try:
            rep.rows.append(PerfRow(TASK_WORD.get(task, task), bench.get("model", model), _device(bench),
                                    bench["backend"], float(bench["latency_ms"]["median"]),
                                    float(bench["fps"]["median"]), bench["source"],
                                    noisy=bool((bench.get("stability") or {}).get("noisy"))))
        except (KeyError, TypeError, ValueError):
            rep.missing.append(f"bench file for {bench.get('backend', '?')} is malformed")
    have = {r.backend for r in rep.rows}
    if "estimate" not in have and rep.estimates is not None and rep.estimates.fps:
        est = rep.estimates
        lat = est.latency_ms or 1e3 / est.fps
        rep.rows.append(PerfRow(TASK_WORD.get(task, task), model, f"FPGA {board} (estimate"
                                + (f", {est.clock_mhz:g} MHz)" if est.clock_mhz else ")"), "estimate", lat, est.fps, "estimate"))
    rep.rows.sort(key=lambda r: (not r.is_cpu, FPGA_ORDER.get(r.backend, 9), r.backend))
    base = rep.cpu_baseline
    for r in rep.rows:
        r.speedup = r.fps / base.fps if base else None
    if (folder / ".staging").is_dir():
        rep.missing.append("an unfinished `fpga-flow build` (.staging/): its outputs were never committed; rerun the build")
    elif rep.estimates is None and not (folder / "dataflow.onnx").is_file():
        rep.missing.append("dataflow.onnx (no completed `fpga-flow build` in this folder)")
    for name, present in (("CPU bench (fpga-flow bench --backend cpu-torch|cpu-onnxruntime)", base is not None),
                          (ESTIMATES_JSON, rep.estimates is not None),
                          ("rtlsim bench (fpga-flow bench --backend rtlsim)", "rtlsim" in have),
                          ("board run (fpga-flow bench --backend pynq, on the board)", "pynq" in have),
                          (SYNTH_JSON, rep.synth is not None),
                          ("bitstream deploy/bitfile/accel.bit + .hwh (Vivado not run here: deploy/README.md says how)",
                           (folder / "deploy" / "bitfile" / "accel.bit").is_file()),
                          (METRICS_JSON, rep.metrics is not None)):
        if not present:
            rep.missing.append(name)
    return rep


def find_builds(build_root: str | Path) -> list[Path]:
    """Every ``<model>-<board>`` folder under ``build_root`` that holds at least one artefact we report."""
    root = Path(build_root)
    if not root.is_dir():
        return []
    # half-written builds too (a failed or interrupted build): the report names what they lack
    marks = ("flow.json", "io.json", ESTIMATES_JSON, SYNTH_JSON, METRICS_JSON, "bench", "dataflow.onnx", "steps",
             ".staging", "model.qonnx.onnx", "rtl", "sim")
    found = [p for p in root.iterdir() if p.is_dir() and any((p / m).exists() for m in marks)]
    task_of = lambda p: (read_flow(p).get("task") or ("seg" if "seg" in p.name.lower() else "cls"))  # noqa: E731
    return sorted(found, key=lambda p: (task_of(p) != "cls", p.name))  # classification first, as in Table 4
