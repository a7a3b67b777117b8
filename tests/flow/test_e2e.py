"""The real stages end to end on a tiny model: rtlsim backend through the driver, deploy folder, the
PYNQ notebooks executed with nbclient on rtlsim, bench tags, and the report of that build."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fpga_flow.flow import STAGES, Flow, FlowConfig

TINY = dict(n_images=32, image_size=32, width=0.0625, epochs=1, prune_epochs=1, qat_epochs=0, n_test=2, bench_repeats=3)
UP_TO_DEPLOY = ("data", "train", "prune", "quantize", "build", "codegen", "rtlsim", "deploy", "bench", "metrics")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")]


def _build(root, model):
    cfg = FlowConfig(model=model, build_root=root, **TINY)
    Flow(cfg).run([s for s in STAGES if s.name in UP_TO_DEPLOY])
    return cfg


@pytest.fixture(scope="module")
def vgg_build(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("e2e"), "vgg16-pruned")


def test_rtlsim_driver_matches_dataflow_and_is_tagged(vgg_build):
    b = vgg_build.bdir
    bench = json.loads((b / "bench" / "rtlsim.json").read_text())
    est = json.loads((b / "estimates.json").read_text())
    assert bench["source"] == "rtlsim" and bench["details"]["clock_mhz"] == est["clock_mhz"]
    assert bench["fps"]["median"] == pytest.approx(est["clock_mhz"] * 1e6 / bench["details"]["cycles_per_frame"])
    for backend, source in (("cpu-torch", "measured"), ("cpu-onnxruntime", "measured"), ("estimate", "estimate")):
        assert json.loads((b / "bench" / f"{backend}.json").read_text())["source"] == source
    m = json.loads((b / "metrics.json").read_text())
    assert set(m) >= {"float", "pruned", "hardware"} and 0 <= m["hardware"]["balanced_accuracy"] <= 1


def test_classification_notebook_on_rtlsim(vgg_build):
    from fpga_flow.runtime.notebooks import run_deploy_notebook

    out = run_deploy_notebook(vgg_build.bdir / "deploy", backend="rtlsim")
    res = json.loads((vgg_build.bdir / "deploy" / "notebook_results_rtlsim.json").read_text())
    assert res["checks"]["bit_exact_images"] == res["checks"]["images"] == 2
    assert res["accelerator"]["source"] == "rtlsim" and res["speedup_vs_cpu"] > 0
    assert out.is_file()


def test_report_of_the_build(vgg_build):
    from fpga_flow.report.render import write_report

    rep = write_report(vgg_build.build_root)
    m = rep.models[0]
    sources = {r.source for r in m.rows}
    assert sources == {"measured", "rtlsim", "estimate"}
    fps = json.loads((vgg_build.bdir / "bench" / "rtlsim.json").read_text())["fps"]["median"]
    assert f"{fps:,.2f}" in rep.markdown_path.read_text()


def test_segmentation_notebook_on_rtlsim(tmp_path):
    from fpga_flow.runtime.notebooks import run_deploy_notebook

    cfg = _build(tmp_path, "segnet-pruned")
    run_deploy_notebook(cfg.bdir / "deploy", backend="rtlsim")
    res = json.loads((cfg.bdir / "deploy" / "notebook_results_rtlsim.json").read_text())
    assert res["checks"]["bit_exact_images"] == 2
    pred = np.load(cfg.bdir / "deploy" / "test_data" / "expected_pred.npy")
    assert pred.shape == (2, 32, 32)
