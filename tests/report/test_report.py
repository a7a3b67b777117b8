"""The report renders whatever a build folder holds, with the fixture's numbers, and says what is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fpga_flow.report.collect import collect, split_name
from fpga_flow.report.reference import TABLE4, reference_rows
from fpga_flow.errors import FlowError
from fpga_flow.report.render import write_report
from fpga_flow.report.tables import accuracy_table, perf_table, resources_table


def _bench(backend, source, lat, device="test cpu", clock=None):
    return {"model": "vgg16-pruned", "board": "Pynq-Z2", "backend": backend, "source": source, "device": device,
            "latency_ms": {"median": lat, "min": lat * 0.9, "max": lat * 1.2},
            "fps": {"median": 1e3 / lat, "min": 1e3 / (lat * 1.2), "max": 1e3 / (lat * 0.9)},
            "details": {"clock_mhz": clock} if clock else {}}


def _w(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def make_fixture_root(tmp_path: Path) -> Path:
    """Two build folders: a classifier with every file, a segmenter with estimates + deploy test data only."""
    cls = tmp_path / "vgg16-pruned-Pynq-Z2"
    _w(cls / "flow.json", {"model": "vgg16-pruned", "board": "Pynq-Z2", "task": "cls"})
    _w(cls / "bench" / "cpu-torch.json", _bench("cpu-torch", "measured", 40.0))
    _w(cls / "bench" / "cpu-onnxruntime.json", _bench("cpu-onnxruntime", "measured", 25.0))
    _w(cls / "bench" / "rtlsim.json", _bench("rtlsim", "rtlsim", 5.0, "Verilator", 100.0) | {"details": {"clock_mhz": 100.0, "layer_cycles": {"MVAU_0": 480000}}})
    _w(cls / "estimates.json", {"clock_mhz": 100.0, "total": {"max_cycles": 500000, "critical_path_cycles": 1000000,
                                "macs_per_frame": 5.0e8, "mac_units": 1024, "lut": 30000, "ff": 40000, "dsp": 100, "bram18": 120},
                                "layers": [{"name": "MVAU_0", "cycles": 500000, "PE": 16, "SIMD": 32},
                                           {"name": "SWG_0", "cycles": 200000}]})
    _w(cls / "synth" / "report.json", {"total": {"LUT": 26600, "FF": 35000, "DSP": 110, "BRAM36": 70},
                                       "budget": {"LUT": 53200, "FF": 106400, "DSP": 220, "BRAM18": 280}})
    _w(cls / "metrics.json", {"float": {"balanced_accuracy": 0.81}, "pruned": {"balanced_accuracy": 0.805},
                              "quantized": {"balanced_accuracy": 0.79}, "hardware": {"balanced_accuracy": 0.79, "note": "rtlsim, 16 images"}})
    _w(cls / "prune_report.json", {"method": "serene", "metric": "balanced_accuracy", "metric_before": 81.0,
                                   "metric_after": 80.5, "params_before": 1000, "params_simplified": 400,
                                   "structural_compression": 2.5, "macs_ratio": 3.0,
                                   "rows": [{"channels_before": 16, "channels_after": 8, "macs_before": 600, "macs_after": 200},
                                            {"channels_before": 4, "channels_after": 4, "macs_before": 0, "macs_after": 0}]})
    seg = tmp_path / "segnet-pruned-Pynq-Z2"
    _w(seg / "flow.json", {"model": "segnet-pruned", "board": "Pynq-Z2", "task": "seg"})
    _w(seg / "estimates.json", {"clock_mhz": 100.0, "total": {"fps": 12.5, "latency_ms": 160.0}})
    td = seg / "deploy" / "test_data"
    td.mkdir(parents=True)
    np.save(td / "inputs.npy", np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32))
    np.save(td / "expected_pred.npy", (np.random.default_rng(1).random((2, 16, 16)) > 0.5).astype(np.int64))
    return tmp_path


@pytest.fixture
def build_root(tmp_path):
    return make_fixture_root(tmp_path)


def test_reference_rows_are_table4_exactly():
    got = [(r.task, r.model, r.device, r.time_ms, r.fps, r.speedup) for r in TABLE4]
    assert got == [
        ("Classification", "VGG16", "CPU", "1430.29", "0.70", "-"),
        ("Classification", "VGG16", "FPGA", "552.28", "1.81", "2.59×"),
        ("Classification", "VGG16-Quantized", "FPGA", "229.93", "4.35", "6.22×"),
        ("Classification", "VGG16-HA", "FPGA", "99.33", "10.07", "14.40×"),
        ("Classification", "VGG16-HCR", "FPGA", "15.09", "66.25", "94.76×"),
        ("Segmentation", "SegNet", "CPU", "3165.97", "0.32", "-"),
        ("Segmentation", "SegNet", "FPGA", "757.22", "1.32", "4.18×"),
        ("Segmentation", "SegNet-Pruned", "FPGA", "282.23", "3.54", "11.22×"),
    ]
    assert len(reference_rows("seg")) == 3 and reference_rows("cls")[-1].speedup_value == 94.76


def test_perf_table_numbers_equal_fixture_and_speedup_vs_fastest_cpu(build_root):
    rep = collect(build_root / "vgg16-pruned-Pynq-Z2")
    rows = {r[2].split(" — ")[0].split(" (")[0]: r for r in perf_table(rep).rows}
    assert rows["CPU PyTorch"][3:7] == ["40.00", "25.00", "0.62×", "`measured`"]
    assert rows["CPU onnxruntime"][3:7] == ["25.00", "40.00", "1.00× (baseline)", "`measured`"]
    by_source = {r[6]: r for r in perf_table(rep).rows}
    assert by_source["`rtlsim`"][3:6] == ["5.00", "200.00", "5.00×"]
    assert by_source["`estimate`"][3:6] == ["10.00", "200.00", "5.00×"]  # 1e6 cycles at 100 MHz; 1e8/5e5 FPS
    assert [r[0] for r in perf_table(rep).rows] == ["Classification"] * 4


def test_accuracy_and_resources_tables(build_root):
    rep = collect(build_root / "vgg16-pruned-Pynq-Z2")
    acc = accuracy_table(rep)
    assert acc.rows[0][:2] == ["float", "81.00 %"] and acc.rows[3] == ["hardware", "79.00 %", "rtlsim, 16 images"]
    res = {r[0]: r for r in resources_table(rep).rows}
    assert res["LUT"] == ["LUT", "30,000", "26,600", "53,200", "50.0 %"]
    assert res["BRAM18"] == ["BRAM18", "120", "140", "280", "50.0 %"]  # 70 BRAM36 = 140 BRAM18


def test_pruning_table(build_root):
    from fpga_flow.report.tables import pruning_table

    t = pruning_table(collect(build_root / "vgg16-pruned-Pynq-Z2"))
    assert t.rows[0] == ["hidden channels", "16", "8", "50.0 % pruned"]
    assert t.rows[2] == ["MACs / frame", "600", "200", "×3.00"]
    assert pruning_table(collect(build_root / "segnet-pruned-Pynq-Z2")) is None


def test_missing_pieces_are_named(build_root):
    rep = collect(build_root / "segnet-pruned-Pynq-Z2")
    text = " ".join(rep.missing)
    for what in ("CPU bench", "rtlsim bench", "board run", "synth/report.json", "metrics.json"):
        assert what in text
    assert rep.rows[0].source == "estimate" and rep.rows[0].speedup is None


def test_report_files_markdown_and_html_with_embedded_plots(build_root):
    rep = write_report(build_root)
    md = rep.markdown_path.read_text()
    html = rep.html_path.read_text()
    assert "| Classification | VGG16-HCR | FPGA | 15.09 | 66.25 | 94.76× | reference (Flich et al., ICIP 2022) |" in md
    assert "| Segmentation | SegNet-Pruned | FPGA | 282.23 | 3.54 | 11.22× | reference (Flich et al., ICIP 2022) |" in md
    assert "**Missing:** `synth/report.json`" in md  # segnet has none
    pngs = sorted(p.name for p in (build_root / "report" / "plots").glob("*.png"))
    assert "vgg16-pruned-Pynq-Z2_fps.png" in pngs and "vgg16-pruned-Pynq-Z2_roofline.png" in pngs
    assert "vgg16-pruned-Pynq-Z2_layers.png" in pngs and "vgg16-pruned-Pynq-Z2_resources.png" in pngs
    assert "segnet-pruned-Pynq-Z2_overlay.png" in pngs
    assert html.count("data:image/png;base64,") == len(pngs) and "<td>94.76×</td>" in html


def test_report_of_missing_or_empty_root_fails_and_writes_nothing(tmp_path):
    with pytest.raises(FlowError, match=r"build root .*nothing not found"):
        write_report(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FlowError, match=r"nothing to report: no <model>-<board>/ build folders"):
        write_report(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


def test_half_written_build_is_named(build_root):
    half = build_root / "lenet5-Pynq-Z2"
    (half / ".staging" / "steps").mkdir(parents=True)
    rep = write_report(build_root)
    assert "lenet5" in [m.model for m in rep.models]
    m = next(m for m in rep.models if m.model == "lenet5")
    assert any("unfinished `fpga-flow build`" in t for t in m.missing) and not m.has_figures


def test_split_name_uses_board_names(tmp_path):
    assert split_name(tmp_path / "vgg16-pruned-Pynq-Z2") == ("vgg16-pruned", "Pynq-Z2")
    assert split_name(tmp_path / "segnet-Ultra96-V2") == ("segnet", "Ultra96-V2")


def test_cli_report(build_root):
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "report", "--build-root", str(build_root)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and (build_root / "report" / "report.html").is_file()
    assert "Latency [ms]" in r.stdout and "FPS [frames/s]" in r.stdout and "Speedup [×]" in r.stdout  # units kept


def test_report_names_the_paper_explains_latency_and_lists_the_missing_bitstream(build_root):
    md = write_report(build_root).markdown_path.read_text()
    assert "[11]" not in md.replace("[11]-[", "")
    assert "A round-trip journey in pruned artificial neural networks" in md and "doi:10.1109/ICIP46576.2022.9897752" in md
    assert "1/FPS (set by the slowest layer) is shorter than the latency" in md
    assert "bitstream deploy/bitfile/accel.bit" in " ".join(collect(build_root / "vgg16-pruned-Pynq-Z2").missing)


def _figure_of(plot, rep, tmp_path, monkeypatch):
    import fpga_flow.report.plots as plots

    figs = []
    monkeypatch.setattr(plots.plt, "close", lambda fig: figs.append(fig))
    assert plot(rep, tmp_path / "p.png") is not None
    figs[-1].canvas.draw()
    return figs[-1]


def test_fps_plot_keeps_ours_and_the_reference_on_separate_axes_with_labels_inside(build_root, tmp_path, monkeypatch):
    from fpga_flow.report.plots import fps_speedup_plot

    fig = _figure_of(fps_speedup_plot, collect(build_root / "vgg16-pruned-Pynq-Z2"), tmp_path, monkeypatch)
    ref_names = {f"{r.model} {r.device}" for r in reference_rows("cls")}
    for ax in fig.axes:
        names = {t.get_text() for t in ax.get_yticklabels()} - {""}
        assert not (names & ref_names and names - ref_names), names  # never both on one axis
        panel = ax.get_window_extent()
        for text in ax.texts:
            box = text.get_window_extent()
            assert panel.x0 <= box.x0 and box.x1 <= panel.x1 + 1, text.get_text()
    assert any(names for names in ({t.get_text() for t in ax.get_yticklabels()} & ref_names for ax in fig.axes))


def test_layer_cycles_plot_is_horizontal_so_names_do_not_overlap(build_root, tmp_path, monkeypatch):
    from fpga_flow.report.plots import layer_cycles_plot

    fig = _figure_of(layer_cycles_plot, collect(build_root / "vgg16-pruned-Pynq-Z2"), tmp_path, monkeypatch)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["MVAU_0", "SWG_0"]
    assert all(t.get_rotation() == 0 for t in ax.get_yticklabels())
    boxes = [t.get_window_extent() for t in ax.get_yticklabels()]
    assert not boxes[0].overlaps(boxes[1])


def test_noisy_cpu_timing_is_flagged_and_tiny_speedups_keep_their_digits(build_root):
    from fpga_flow.report.tables import fmt_speedup

    p = build_root / "vgg16-pruned-Pynq-Z2" / "bench" / "cpu-onnxruntime.json"
    d = json.loads(p.read_text())
    d["stability"] = {"noisy": True, "reasons": ["median 110.8 ms is 185x the fastest run 0.6 ms"]}
    p.write_text(json.dumps(d))
    md = perf_table(collect(build_root / "vgg16-pruned-Pynq-Z2")).markdown()
    assert "`measured` **noisy**" in md and "(noisy baseline)" in md
    assert fmt_speedup(0.0054) == "0.0054×" and fmt_speedup(2.5) == "2.50×"


def test_terminal_table_in_a_log_keeps_device_names_whole_and_drops_markdown():
    """`make report > log`: rich's default 80 columns folded 'CPU onnxruntime ...' into one word per line
    and printed `measured` **noisy** with its Markdown marks."""
    import io

    from rich.console import Console

    from fpga_flow.report.cli import LOG_WIDTH, terminal_table
    from fpga_flow.report.tables import md_table

    device = "CPU onnxruntime 1.32.0 fp32, 2 threads — AMD EPYC (2 cores)"
    table = md_table(["Task", "Model", "Device", "Inference time [ms]", "FPS", "Speedup", "Source"],
                     [["Classification", "vgg16-pruned", device, "0.16", "6,134.69", "1.00× (baseline)",
                       "`measured` **noisy**"]])
    out = io.StringIO()
    Console(file=out, width=LOG_WIDTH).print(terminal_table(table))
    text = out.getvalue()
    assert device in text and "measured noisy" in text
    assert "**" not in text and "`" not in text
    assert "Latency [ms]" in text and "FPS [frames/s]" in text and "Speedup [×]" in text


def test_quantized_cpu_row_names_qcdq_once():
    from fpga_flow.report.collect import _device

    bench = {"backend": "cpu-onnxruntime-quant", "runtime": "onnxruntime 1.32.0", "threads": 2, "device": "AMD EPYC",
             "numeric_format": "QONNX as QCDQ (the accelerator's bit widths, int8 kernels)"}
    assert _device(bench) == "CPU onnxruntime 1.32.0 QONNX as QCDQ, 2 threads — AMD EPYC"
    older = bench | {"numeric_format": "int8"}  # a bench file written before the format named QCDQ
    assert _device(older) == "CPU onnxruntime 1.32.0 int8, 2 threads (QONNX as QCDQ) — AMD EPYC"
