"""The unpruned rows' recipe (fpga_flow.models.registry.UNPRUNED_RECIPE), scaled down (width 1/16, QAT at 32x32,
design at 64x64 instead of 224x224): float training and QAT at the low size, the quantized network at the design
size untrained there, its accuracy measured there on the test split; hardware accuracy from the compiled
hardware graph on the whole test split, rtlsim on the row's few frames, bit-exact to it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from fpga_flow import stage_accuracy as sa
from fpga_flow.data import metrics as M
from fpga_flow.flow import STAGES, Flow, FlowConfig
from fpga_flow.models import load_checkpoint
from fpga_flow.models.registry import spec
from fpga_flow.quant import load_qonnx, read_quant_meta

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")

SMALL = dict(image_size=64, train_size=32, width=1 / 16, epochs=1, qat_epochs=1, n_images=60, bench_repeats=3)


def test_the_recipe_is_the_unpruned_rows_default() -> None:
    for row in ("vgg16", "vgg16-quantized", "segnet"):
        c = FlowConfig(model=row)
        assert (c.image_size, c.low_size, c.qat_side) == (224, 32, 32)
        assert "Recipe: float training and QAT at 32×32, then the quantized network runs at 224×224" in c.summary()
        assert "rtlsim on its first 3 frames" in c.summary()
    for row in ("vgg16-ha", "vgg16-hcr", "segnet-pruned"):  # the pruned rows keep QAT at the design size
        c = FlowConfig(model=row)
        assert c.qat_side == 224 and "Recipe" not in c.summary() and spec(row).rtlsim_frames is None
    assert FlowConfig(model="vgg16", qat_size=0).qat_side == 224  # fine-tuning + QAT at 224 on request


@pytest.mark.slow
def test_unpruned_row_at_the_design_size_without_training_there(tmp_path, monkeypatch) -> None:
    torch.set_num_threads(1)
    # vgg16-quantized (W4A4): W8A8 thresholds do not fit Pynq-Z2 even at width 1/16 (fold: 104 % of its LUTs)
    c = FlowConfig(model="vgg16-quantized", build_root=tmp_path, **SMALL)
    from fpga_flow.flow import preflight

    preflight(c)  # its fit check passes (W4A4 fits Pynq-Z2)
    f = Flow(c)
    f.run([s for s in STAGES if s.name not in ("synth", "vivado", "deploy", "bench")])

    # float training at 32, the same weights at 64 (not trained there), QAT at 32, exported at 64
    assert load_checkpoint(f.path("checkpoints/float.pt"))[0].input_shape == (3, 32, 32)
    assert load_checkpoint(f.path("checkpoints/pruned.pt"))[0].input_shape == (3, 64, 64)
    assert read_quant_meta(f.path("quant/model.quant.32.pt"))["input_shape"][-1] == 32
    meta = read_quant_meta(f.path("quant/model.quant.pt"))
    assert meta["input_shape"][-1] == 64 and meta["spec"].label() == "W4A4"
    shape = [d.dim_value for d in load_qonnx(f.path("model.qonnx.onnx")).graph.input[0].type.tensor_type.shape.dim]
    assert shape == [1, 3, 64, 64]
    # accuracy through the stages, each at the size it was measured at; the quantized one on the test split at 64
    q = json.loads(f.path("quant/quant_summary.json").read_text())
    assert list(q["metrics"])[-1] == "W4A4 at 64x64"
    ledger = sa.read(c.bdir)
    assert [(s["stage"], s["size"]) for s in ledger["stages"]] == [("float", 32), ("resized", 64), ("quantized", 64)]
    assert ledger["stages"][-1]["value"] == pytest.approx(q["metrics"]["W4A4 at 64x64"]["balanced_accuracy"])

    # rtlsim on the row's 3 frames, the hardware graph on the whole test split, bit-exact where both ran
    n_split = json.loads(f.path("sim/test_set.json").read_text())["test_split"]
    rtl, graph = np.load(f.path("sim/test_outputs.npy")), np.load(f.path("sim/graph_outputs.npy"))
    assert len(rtl) == spec("vgg16-quantized").rtlsim_frames == 3 and len(graph) == n_split > 3
    assert np.array_equal(rtl, graph[:3])
    y, pred = np.load(f.path("sim/graph_labels.npy")), np.load(f.path("sim/graph_pred.npy"))
    m = json.loads(f.path("metrics.json").read_text())
    hw = m["hardware"]
    assert (hw["images"], hw["rtlsim_images"], hw["source"]) == (n_split, 3, "hardware graph")
    assert hw["balanced_accuracy"] == pytest.approx(M.balanced_accuracy(y, pred))
    assert "rtlsim bit-exact to it on the first 3" in hw["note"]

    # where rtlsim would take longer than RTLSIM_MAX_S, the stage says so and is skipped; the hardware accuracy
    # stays the hardware graph's (reused, not recomputed), and says rtlsim did not run
    from fpga_flow.flow import sim_stages

    graph_mtime = f.path("sim/graph_outputs.npy").stat().st_mtime
    secs = sim_stages.rtlsim_seconds(f, 3)
    cycles = json.loads(f.path("estimates.json").read_text())["total"]["cycles_per_frame"]
    assert secs == pytest.approx(cycles * (3 + 1) / sim_stages.RTLSIM_CYCLES_PER_S)  # FIFOs already sized
    monkeypatch.setattr(sim_stages, "RTLSIM_MAX_S", secs / 2)
    f.path("bench/rtlsim.json").unlink()
    f.path("metrics.json").unlink()
    Flow(c).run([s for s in STAGES if s.name in ("rtlsim", "metrics")])
    state = json.loads(f.path("flow.json").read_text())["stages"]
    assert state["rtlsim"]["status"] == "skipped" and "rtlsim not run" in state["rtlsim"]["why"]
    assert state["metrics"]["status"] == "done"
    assert f.path("sim/graph_outputs.npy").stat().st_mtime == graph_mtime
    assert np.array_equal(np.load(f.path("sim/test_outputs.npy")), graph[:3])  # the deploy folder's expected outputs
    hw = json.loads(f.path("metrics.json").read_text())["hardware"]
    assert hw["rtlsim_images"] == 0 and "rtlsim not run" in hw["note"]
    assert hw["balanced_accuracy"] == pytest.approx(M.balanced_accuracy(y, pred))


def test_an_unpruned_row_that_cannot_fit_the_board_fails_before_training(tmp_path) -> None:
    """vgg16 (W8A8) at width 1/16, fully folded, on a board of Pynq-Z2's family with 4,000 LUTs: the flow
    says so in preflight, before any data or training (vgg16-quantized, W4A4, passes the same check on
    Pynq-Z2 in the slow test above)."""
    import re

    import yaml

    from fpga_flow.boards import BOARDS_DIR
    from fpga_flow.errors import FlowError
    from fpga_flow.flow import preflight

    torch.set_num_threads(1)
    board = yaml.safe_load((BOARDS_DIR / "Pynq-Z2.yaml").read_text())
    board["name"], board["resources"]["lut"], board["resources"]["lutram"] = "Tiny-Z2", 4000, 1300
    path = tmp_path / "tiny-z2.yaml"
    path.write_text(yaml.safe_dump(board))
    c = FlowConfig(model="vgg16", board=str(path), build_root=tmp_path / "build", image_size=64, width=1 / 16)
    with pytest.raises(FlowError, match=re.escape("fit check of vgg16 (W8A8, untrained, 32x32): does not fit ")
                       + r".*tiny-z2\.yaml at any input size: board Tiny-Z2: even the fully folded design needs "
                       r"lut = \d+ \(1\d\d% of the board, limit 85%\); largest user: layer "
                       # fully folded, the MVAUs (PE = SIMD = 1) are about the size of the SWGs' control
                       r"(MVAU|ConvolutionInputGenerator)_\d+"):
        preflight(c)
    assert not c.bdir.exists() and not (tmp_path / "build" / "data").exists()
