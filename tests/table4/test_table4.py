"""table4 end to end on small build folders: CPU rows (format, accuracy, threads), speedups naming their
baseline, resume row by row, a failed row marked and a non-zero exit, a missing CPU runtime named,
every figure of the Markdown table taken from table4.json."""

from __future__ import annotations

import sys

import pytest

from fpga_flow.errors import FlowError
from fpga_flow.table4.run import Table4Config, Table4Failed, run_table4
from tests.table4.fixture_source import CYCLES, FixtureSource

BACKENDS = ("cpu-torch", "cpu-onnxruntime", "cpu-openvino-f32", "cpu-onnxruntime-int8")


def _cfg(tmp_path, **kw):
    return Table4Config(**{"boards": ["Pynq-Z2", "ZCU104"], "rows": ["vgg16-pruned"], "out": tmp_path / "t4",
                           "threads": 1, "repeats": 5, "cpu_backends": BACKENDS} | kw)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("t4")
    src = FixtureSource(tmp / "build")
    return run_table4(_cfg(tmp), src), src, tmp


def test_rows_json_has_every_field_with_sources(table):
    res, _, _ = table
    rows = res.doc["rows"]
    fpga = [r for r in rows if r["kind"] == "fpga"]
    cpu = [r for r in rows if r["kind"] == "cpu"]
    assert {r["board"] for r in fpga} == {"Pynq-Z2", "ZCU104"} and len(cpu) == len(BACKENDS)
    for r in fpga:
        assert set(r) >= {"task", "model", "device", "board", "clock_mhz", "input", "weights", "fps", "latency_ms",
                          "source", "speedup", "baseline", "accuracy", "resources"}
        assert r["source"] == "rtlsim" and r["fps"] == pytest.approx(r["clock_mhz"] * 1e6 / CYCLES)
        assert set(r["accuracy"]) >= {"metric", "float", "quantized", "hardware", "n_images"}
        assert r["accuracy"]["n_images"] == 6 and r["resources"]["lut"] == 21000 and r["resources"]["fits"] is True
    fmts = {r["backend"]: r["numeric_format"] for r in cpu}
    assert fmts["cpu-torch"] == "fp32" and fmts["cpu-openvino-f32"] == "fp32" and fmts["cpu-onnxruntime-int8"].startswith("int8")
    assert all(r["threads"] == 1 and r["source"] == "measured" and r["runs"] == 5 for r in cpu)
    assert all(r["noisy"] and "only 5 runs (< 30)" in r["noise"] for r in cpu)  # 5 runs: flagged, never silently trusted
    float_acc = cpu[0]["accuracy"]["float"]
    assert all(r["accuracy"]["this_row"] == pytest.approx(float_acc) for r in cpu if r["numeric_format"] == "fp32")
    assert res.doc["reference"][0]["model"] == "VGG16" and res.doc["machine"]["versions"]["openvino"]


def test_speedup_divides_by_the_fastest_fair_cpu_row_and_names_it(table):
    rows = table[0].doc["rows"]
    fair = [r for r in rows if r["kind"] == "cpu" and r["fair_baseline"]]
    base = max(fair, key=lambda r: r["fps"])
    assert base.get("is_baseline")
    for r in rows:
        if r["kind"] == "fpga":
            assert r["speedup"] == pytest.approx(r["fps"] / base["fps"])
            assert r["baseline"].startswith(f"vgg16-pruned on {base['device'].split(' - ')[0].removeprefix('CPU ')}")
    unfair = [r for r in rows if r["kind"] == "cpu" and not r["fair_baseline"]]
    for r in unfair:  # kept in the table, marked
        assert abs(r["accuracy"]["this_row"] - r["accuracy"]["float"]) > 0.01


def test_markdown_figures_come_from_the_json(table):
    res = table[0]
    md = res.markdown_path.read_text()
    for r in res.doc["rows"]:
        assert f"{r['fps']:,.2f}" in md and f"{r['latency_ms']:.2f}" in md
        if r["kind"] == "fpga":
            v = r["speedup"]
            assert (f"{v:.2f}×" if v >= 0.1 else f"{v:.2g}×") + f" vs {r['baseline']}" in md
    assert "| Task | Model | Device | Inference time [ms] | FPS | Speedup | Accuracy | Source |" in md
    assert "[11]" not in md  # the paper and its source by name, as the report does
    assert "A round-trip journey in pruned artificial neural networks" in md and "ICIP46576.2022.9897752" in md
    ours, ref = md.split("## Reference Table 4")[:2]
    assert "1430.29" not in ours and "1430.29" in ref  # the paper's rows only in their own block
    for name in ("fps", "accuracy_fps", "resources"):
        assert (res.json_path.parent / "plots" / f"{name}.png").is_file()
    assert res.html_path.read_text().count("data:image/png;base64,") >= 3


def test_resume_reuses_finished_rows(table):
    res, src, tmp = table
    n = len(src.calls)
    again = run_table4(_cfg(tmp), src)
    assert len(src.calls) == n and again.doc["rows"][0]["fps"] == res.doc["rows"][0]["fps"]


def test_failed_row_is_marked_others_done_and_exit_nonzero(tmp_path):
    src = FixtureSource(tmp_path / "build", fail={"segnet-pruned"})
    cfg = _cfg(tmp_path, boards=["Pynq-Z2"], rows=["segnet-pruned", "vgg16-pruned"],
               cpu_backends=("cpu-torch", "cpu-onnxruntime"))
    with pytest.raises(Table4Failed, match="segnet-pruned on Pynq-Z2: .*node Conv_3") as err:
        run_table4(cfg, src)
    doc = err.value.result.doc
    bad = [r for r in doc["rows"] if r["model"] == "segnet-pruned"]
    assert len(bad) == 1 and bad[0]["status"].startswith("failed") and bad[0]["fps"] is None
    assert any(r["model"] == "vgg16-pruned" and r["fps"] for r in doc["rows"])
    assert "node Conv_3" in err.value.result.markdown_path.read_text()
    src.fail.clear()  # the next run retries the failed row only
    run_table4(cfg, src)
    assert src.calls.count(("segnet-pruned", "Pynq-Z2")) == 2 and src.calls.count(("vgg16-pruned", "Pynq-Z2")) == 1


def test_missing_cpu_runtime_says_why_and_the_others_run(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    src = FixtureSource(tmp_path / "build")
    res = run_table4(_cfg(tmp_path, boards=["Pynq-Z2"], cpu_backends=("cpu-onnxruntime", "cpu-openvino")), src)
    ov = next(r for r in res.doc["rows"] if r.get("backend") == "cpu-openvino")
    assert ov["fps"] is None and "openvino is not installed" in ov["status"]
    assert next(r for r in res.doc["rows"] if r.get("backend") == "cpu-onnxruntime")["fps"] > 0


def test_bad_board_or_row_fails_before_any_work(tmp_path):
    src = FixtureSource(tmp_path / "build")
    with pytest.raises(FlowError, match="Pynq-Z9"):
        run_table4(_cfg(tmp_path, boards=["Pynq-Z9"]), src)
    with pytest.raises(FlowError, match="unknown model 'vgg17'; Table 4 rows: vgg16 "):
        run_table4(_cfg(tmp_path, rows=["vgg17"]), src)
    assert src.calls == [] and not (tmp_path / "t4").exists()


def test_an_int8_row_that_loses_accuracy_is_not_the_baseline_but_stays():
    from fpga_flow.table4.record import apply_speedups

    def cpu(backend, fps, acc):
        return {"kind": "cpu", "task": "Classification", "model": "m", "backend": backend, "fps": fps, "noisy": False,
                "device": f"CPU {backend} (x, 2 threads) - test cpu", "accuracy": {"float": 0.80, "this_row": acc},
                "fair_baseline": abs(acc - 0.80) * 100 <= 1.0}

    rows = [cpu("torch", 50.0, 0.80), cpu("ov-bf16", 300.0, 0.795), cpu("ov-int8", 800.0, 0.70),
            {"kind": "fpga", "task": "Classification", "model": "m", "fps": 600.0, "noisy": False}]
    apply_speedups(rows)
    assert rows[1].get("is_baseline") and not rows[2].get("is_baseline")
    assert rows[3]["speedup"] == pytest.approx(2.0) and rows[3]["baseline"] == "m on ov-bf16 (x, 2 threads)"
    assert rows[2]["speedup"] == pytest.approx(800 / 300)  # the lossy row keeps its figure, never the baseline


def test_segmentation_row_overlays_float_and_hardware_masks(tmp_path):
    src = FixtureSource(tmp_path / "build")
    res = run_table4(_cfg(tmp_path, boards=["Pynq-Z2"], rows=["segnet-pruned"], cpu_backends=("cpu-onnxruntime",)), src)
    fpga = next(r for r in res.doc["rows"] if r["kind"] == "fpga")
    assert fpga["accuracy"]["metric"] == "iou" and fpga["task"] == "Segmentation"
    assert (res.json_path.parent / "plots" / "seg_overlay.png").is_file()
    assert "Segmentation: float and hardware masks" in res.markdown_path.read_text()


def test_fps_plot_keeps_value_labels_inside_their_panels():
    """The committed 224x224 table: the reference's 66.25 label ran past its panel's right edge."""
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    from fpga_flow.table4.plots import fps_figure

    doc = json.loads((Path(__file__).parents[2] / "benchmarks/results/table4.json").read_text())
    fig = fps_figure(doc)
    fig.canvas.draw()
    for ax in fig.axes:
        panel = ax.get_window_extent()
        assert ax.texts
        for text in ax.texts:
            box = text.get_window_extent()
            assert panel.x0 <= box.x0 and box.x1 <= panel.x1, text.get_text()
    plt.close(fig)


def test_each_row_step_is_a_line_in_a_log(table, tmp_path):
    """Without a terminal rich draws no bar: every step of a row must still reach the log as a line."""
    import io

    from rich.console import Console

    _, src, _ = table
    out = io.StringIO()
    run_table4(_cfg(tmp_path, boards=["Pynq-Z2"]), src, console=Console(file=out, width=200))
    lines = out.getvalue().splitlines()
    cpu = [line for line in lines if line.startswith("vgg16-pruned on Pynq-Z2: vgg16-pruned: CPU ")]
    assert len(cpu) == len(BACKENDS), lines
