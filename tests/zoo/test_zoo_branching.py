"""resnet18, mobilenet-v1, unet: coupled-channel pruning keeps shapes consistent and outputs identical,
the quantized export compiles bit-exact, and the whole flow (train -> SeReNe -> QAT -> QONNX -> build ->
rtlsim) is bit-exact at a small size."""

from __future__ import annotations

import shutil

import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.models import build, hidden_widths
from fpga_flow.prune.depgraph import coupling
from fpga_flow.prune.loop import candidate
from fpga_flow.prune.masks import Masks
from fpga_flow.prune.simplify import simplify

# 3x3 convs need >= 2x2 maps at the deepest stage: resnet18/mobilenet-v1 divide the input by 32
SMALL = {"resnet18": dict(in_size=64, width=0.125), "mobilenet-v1": dict(in_size=64, width=0.125),
         "unet": dict(in_size=32, width=0.125, depth=3)}


def _randomize(m: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) * 1.3 + 0.2)
                mod.bias.copy_(torch.rand(mod.bias.shape, generator=g) - 0.5)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) * 1.5 + 0.5)
    return m.eval()


def test_coupled_groups():
    cp = coupling(build("resnet18", **SMALL["resnet18"]))
    # stage 1: the stem and both blocks' second convs write one channel group (identity adds)
    assert cp.unit_out[0] == cp.unit_out[2] == cp.unit_out[4]
    # stage 2: conv2 of both blocks and the 1x1 shortcut conv
    assert cp.unit_out[6] == cp.unit_out[7] == cp.unit_out[9] != cp.unit_out[5]
    cp = coupling(build("mobilenet-v1", **SMALL["mobilenet-v1"]))
    assert all(cp.unit_out[2 * i + 1] == cp.unit_out[2 * i] for i in range(13))  # depthwise = its input
    cp = coupling(build("unet", **SMALL["unet"]))
    level0_dec1 = next(c for c in cp.consumers if len(c.segments) == 2 and c.segments[0][1] == 16)
    assert [n for _, n in level0_dec1.segments] == [16, 32]  # the skip, then the upsampled deeper level


@pytest.mark.parametrize("name", ["resnet18", "mobilenet-v1", "unet"])
def test_prune_keeps_shapes_and_outputs(name):
    torch.manual_seed(0)
    cfg = SMALL[name]
    m = _randomize(build(name, **cfg))
    masks = candidate(m, Masks.ones(m), 0.5, "channel", multiple_of=4)
    masks.apply(m)
    r = simplify(m, multiple_of=4, name=name, config=cfg)
    before, after = r.before, r.channels
    assert sum(after) < 0.8 * sum(before) and all(c % 4 == 0 for c in after)
    assert hidden_widths(r.model) == after  # rebuilt through build(name, channels=...): shapes consistent
    x = torch.randn(2, 3, cfg["in_size"], cfg["in_size"])
    with torch.no_grad():
        torch.testing.assert_close(r.model(x), m(x), atol=1e-5, rtol=1e-5)
    cp = coupling(r.model)  # every coupled unit still agrees on its width
    for segs in cp.unit_out:
        assert all(n == cp.sizes[g] for g, n in segs)


def test_bad_coupled_plan_is_named():
    w = hidden_widths(build("resnet18", **SMALL["resnet18"]))
    w[2] += 1  # layer1.0.conv2 no longer matches the stem it is added to
    with pytest.raises(FlowError, match=r"layer1.0.conv2 is coupled to 8 channels"):
        build("resnet18", **{**SMALL["resnet18"], "channels": w})
    w = hidden_widths(build("mobilenet-v1", **SMALL["mobilenet-v1"]))
    w[1] += 1
    with pytest.raises(FlowError, match=r"block0.dw is coupled"):
        build("mobilenet-v1", **{**SMALL["mobilenet-v1"], "channels": w})


@pytest.mark.parametrize("name", ["unet", pytest.param("resnet18", marks=pytest.mark.slow),
                                  pytest.param("mobilenet-v1", marks=pytest.mark.slow)])
def test_quantized_export_compiles_bit_exact(name, tmp_path):
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
    from tests.compiler.test_bitexact import check_net

    cfg = SMALL[name]
    shape = (1, 3, cfg["in_size"], cfg["in_size"])
    qm = quantize_model(_randomize(build(name, **cfg)), QuantSpec(weight_scaling="channel"))
    g = torch.Generator().manual_seed(0)
    calibrate(qm, [torch.randn(4, *shape[1:], generator=g) for _ in range(2)])
    path = export_qonnx_clean(qm, shape, tmp_path / f"{name}.onnx")
    _, _, hm, _ = check_net(path, shape, n=2, exact_float=False)
    ops = [n.op_type for n in hm.graph.node]
    expect = {"resnet18": ("AddStreams", 8), "mobilenet-v1": ("VVAU", 13), "unet": ("StreamingConcat", 3)}[name]
    assert ops.count(expect[0]) == expect[1]


# the whole flow's sizes: Verilator builds dominate (two per design: FIFO sizing, then the run), so the
# U-Net has one level; 160 synthetic images, 2 training + 2 SeReNe epochs, 1 QAT epoch
FLOW = {"unet": dict(in_size=16, extra={"depth": 1}), "resnet18": dict(in_size=64), "mobilenet-v1": dict(in_size=64)}


def _flow(name, tmp_path, **kw):
    from fpga_flow.zoo_flow import ZooConfig, run_zoo

    return run_zoo(ZooConfig(name=name, width=0.0625, n_rtlsim=1, **FLOW[name], **kw), tmp_path / name)


@pytest.mark.rtl
@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")
@pytest.mark.parametrize("name", ["unet",  # ~7 min here under load (two Verilator builds)
                                  pytest.param("resnet18", marks=pytest.mark.slow),
                                  pytest.param("mobilenet-v1", marks=pytest.mark.slow)])
def test_whole_flow_rtlsim_bit_exact(name, tmp_path):
    rec = _flow(name, tmp_path)
    assert rec["channels_after"] != rec["channels_before"] or rec["pruned_channels_pct"] == 0
    assert rec["brevitas_vs_qonnx_max_abs_diff"] < 1e-4
    r = rec["rtlsim"]
    assert r["images"] == 1 and r["bit_exact_vs_hw_graph"] and r["max_rel_diff_vs_qonnx"] < 1e-5
    assert r["cycles_per_frame"] >= rec["estimate"]["cycles_per_frame"]  # one frame: its latency, never below the steady-state estimate
