"""What a board user meets: deploy/README.md and deploy.json's clock; the notebooks' figures (colours against
the true labels, class names, the FPS bar plot's labels inside the panel)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np

from .conftest import rand_images
from fpga_flow.runtime import notebook_util as nbu
from fpga_flow.runtime.deploy import make_deploy
from fpga_flow.runtime.deploy_readme import deploy_readme

matplotlib.use("Agg")


def test_deploy_folder_has_a_readme_and_its_clock(cls_build):
    folder, _ = cls_build
    x = rand_images(3)
    out = make_deploy(folder, inputs=x, expected=np.zeros((3, 1, 1, 4), np.int64), expected_pred=np.zeros(3, np.int64),
                      model="m", board="Pynq-Z2", extra={"classes": ["MEL", "NV", "BCC", "AK"]})
    manifest = json.loads((out / "deploy.json").read_text())
    assert manifest["clock_mhz"] == 100.0 and manifest["test_images"] == 3  # io.json has none: the board's clock
    readme = (out / "README.md").read_text()
    assert "Missing: `bitfile/accel.bit` and `bitfile/accel.hwh`" in readme and "Vivado 2022.2" in readme
    assert "PYNQ 3.1 (PYNQ 4.0 dropped Pynq-Z2)" in readme and "onnxruntime has no wheel" in readme
    assert "scp -r deploy" in readme and "notebooks/pynq_classification.ipynb" in readme and "100 MHz" in readme


def test_readme_names_the_pynq_image_and_cpu_packages_per_board():
    zcu = deploy_readme({"board": "ZCU104", "model": "m", "task": "seg", "clock_mhz": 200.0}, True, "m-ZCU104")
    assert "PYNQ 4.0" in zcu and "pip3 install onnxruntime" in zcu and "Missing" not in zcu
    assert "pynq_segmentation.ipynb" in zcu
    kv = deploy_readme({"board": "KV260", "model": "m", "task": "cls"}, False, "m-KV260")
    assert "PYNQ 4.0" in kv and "Missing: `bitfile/accel.bit`" in kv


def test_readme_says_how_to_write_the_vivado_project_when_the_build_skipped_it():
    # the demo skips Yosys and Vivado: there is no vivado/build.tcl to copy, the README must not promise one
    demo = deploy_readme({"board": "Pynq-Z2", "model": "vgg16-pruned", "task": "cls"}, False, "vgg16-pruned-Pynq-Z2",
                         has_tcl=False, build_root="build")
    assert "`vivado/build.tcl` is not written yet" in demo
    assert "fpga-flow bitstream --model vgg16-pruned --board Pynq-Z2 --build-root build" in demo
    assert "it holds `rtl/` and `vivado/`" not in demo
    built = deploy_readme({"board": "Pynq-Z2", "model": "m", "task": "cls"}, False, "m-Pynq-Z2", has_tcl=True)
    assert "it holds `rtl/` and `vivado/`" in built and "not written yet" not in built


def test_classification_figure_colours_against_the_true_label_with_class_names():
    images = rand_images(3)
    pred = np.array([1, 2, 0])
    expected = np.array([1, 2, 0])  # the hardware did what it should ...
    labels = np.array([1, 0, 0])  # ... but image 1 is wrong against the truth
    fig = nbu.show_classification(images, pred, expected, labels, ["MEL", "NV", "BCC"], n=3)
    titles = [ax.title for ax in fig.axes]
    assert [t.get_color() for t in titles] == ["green", "red", "green"]
    assert titles[1].get_text() == "pred BCC\ntrue MEL"
    fig = nbu.show_classification(images, pred, np.array([1, 1, 0]), None, None, n=3)
    assert [t.get_color() for t in (ax.title for ax in fig.axes)] == ["black"] * 3  # no labels: no verdict
    assert "≠ expected" in fig.axes[1].title.get_text()


def test_fps_plot_keeps_value_labels_inside_the_panel():
    fig = nbu.plot_fps({"throughput_fps": 43215.2, "source": "rtlsim"},
                       {"throughput_fps": 9275.1, "device": "x86", "source": "measured"})
    ax = fig.axes[0]
    fig.canvas.draw()
    panel = ax.get_window_extent()
    for text in ax.texts:
        box = text.get_window_extent()
        assert panel.x0 <= box.x0 and box.x1 <= panel.x1, text.get_text()
    assert "speedup 4.66×" in ax.get_title()


def test_fps_plot_keeps_its_panel_wide_with_a_long_cpu_name():
    """The real device string squeezed the bars into a sliver at the right of the figure."""
    fig = nbu.plot_fps({"throughput_fps": 24414.1, "source": "rtlsim"},
                       {"throughput_fps": 6190.8, "source": "measured",
                        "device": "AMD EPYC (2 cores); onnxruntime 1.32.0 fp32, 2 threads"})
    fig.canvas.draw()
    panel, whole = fig.axes[0].get_window_extent(), fig.bbox
    assert panel.width >= 0.45 * whole.width, (panel.width, whole.width)


def test_notebooks_can_be_opened_and_executed_off_the_board():
    """`jupyter nbconvert --execute` and `jupyter notebook` come with the venv (pinned, torch untouched)."""
    from pathlib import Path

    import nbconvert
    import notebook
    from nbconvert.preprocessors import ExecutePreprocessor  # noqa: F401

    lock = (Path(__file__).parents[2] / "requirements.lock").read_text().splitlines()
    assert f"nbconvert=={nbconvert.__version__}" in lock and f"notebook=={notebook.__version__}" in lock
    assert sum(line.startswith("torch==") for line in lock) == 1
