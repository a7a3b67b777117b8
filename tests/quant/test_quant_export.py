"""Clean QONNX export of the zoo models: Brevitas == execute_onnx, integer grids, bad exports."""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import onnx
import pytest
import torch
from .quant_helpers import randomize_bn
from torch import nn

from fpga_flow.models import build
from fpga_flow.quant import (QuantSpec, calibrate, export_qonnx_clean, integer_grid_report,
                             load_qonnx, load_quant_checkpoint, max_abs_diff, quantize_model,
                             save_quant_checkpoint)
from fpga_flow.quant.export import ExportError

ZOO = {
    "vgg16": dict(width=0.125, in_size=32, num_classes=5),
    "segnet": dict(width=0.125, in_size=32, num_classes=2),
    "lenet5": dict(width=0.25),
}
SPECS = {  # power-of-two scales (the default): the float emulations agree bit for bit
    "W4A4": QuantSpec(),
    "W2A2": QuantSpec(wbits=2, abits=2, first_wbits=2, last_wbits=2, weight_scaling="channel"),
    "W8A8": QuantSpec.uniform(8, 8),
}


def activation_path(model) -> list[str]:
    return [n.op_type for n in model.graph.node
            if not (n.op_type == "Quant" and model.get_initializer(n.input[0]) is not None)]


def quantized_zoo(name: str, spec: QuantSpec):
    net = randomize_bn(build(name, **ZOO[name]))
    shape = (1, *net.input_shape)
    q = quantize_model(net, spec)
    g = torch.Generator().manual_seed(1)
    calibrate(q, [torch.randn((8, *shape[1:]), generator=g) for _ in range(2)])
    return net, q, shape


@pytest.mark.parametrize("spec_name", list(SPECS))
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_export_matches_brevitas_and_is_integer(tmp_path, name, spec_name):
    spec = SPECS[spec_name]
    net, q, shape = quantized_zoo(name, spec)
    path = export_qonnx_clean(q, shape, tmp_path / "model.qonnx.onnx")
    onnx.checker.check_model(str(path))
    model = load_qonnx(path)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == list(shape)
    x = torch.randn((2, *shape[1:]), generator=torch.Generator().manual_seed(2))
    # the output layer's float scale and bias are applied in float32 by two runtimes whose summation order
    # depends on the CPU's vector width (exact on AVX-512, 3.7e-9 on an AVX2-only AMD EPYC for segnet);
    # every integer tensor is checked exactly by the integer-grid report below
    assert max_abs_diff(q, model, x) <= 1e-6
    with torch.no_grad():
        assert q(x).shape == net(x).shape

    rows = integer_grid_report(model, x[:1].numpy())
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {r["op"] for r in rows} >= {"Quant", "MaxPool"}
    rows = [r for r in rows if r["op"] == "Quant"]
    acts = [r for r in rows if not r["weight"]]
    weights = [r for r in rows if r["weight"]]
    n_mm = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in net.modules())
    assert len(weights) == n_mm
    assert sorted({r["bits"] for r in acts if not r["signed"]}) == [spec.abits]
    assert acts[0]["signed"] and acts[0]["bits"] == spec.in_bits
    wbits = [r["bits"] for r in weights]
    assert wbits[0] == spec.first_wbits and wbits[-1] == spec.last_wbits
    assert set(wbits[1:-1]) == {spec.wbits}
    # the integer views really use the grid (not all zero) and stay within the declared width
    assert max(r["max"] for r in acts if not r["signed"]) >= 2 ** spec.abits // 4

    ops = activation_path(model)
    assert ops[0] == "Quant"
    for i, op in enumerate(ops):  # pools, upsamples and matmuls always read a Quant output
        if op in ("MaxPool", "Resize", "GlobalAveragePool") or (op in ("Conv", "Gemm") and i):
            assert ops[i - 1] in ("Quant", "MaxPool", "Resize", "Flatten"), (i, ops)
    if name == "vgg16":
        assert ops[-4:] == ["MaxPool", "GlobalAveragePool", "Flatten", "Gemm"]
    if name == "segnet":
        assert ops.count("Resize") == 5 and ops[-1] == "Conv"
        assert all(ops[i - 1] in ("Quant", "MaxPool") for i, o in enumerate(ops) if o == "Resize")
    if name == "lenet5":
        assert ops == ["Quant", "Conv", "Relu", "Quant", "MaxPool", "Conv", "Relu", "Quant",
                       "MaxPool", "Flatten", "Gemm", "Relu", "Quant", "Gemm"]


@pytest.mark.parametrize("name", ["vgg16", "segnet"])
def test_float_scales_export_within_tolerance(tmp_path, name):
    _, q, shape = quantized_zoo(name, QuantSpec(scales="float"))
    model = load_qonnx(export_qonnx_clean(q, shape, tmp_path / "m.onnx"))
    x = torch.randn((2, *shape[1:]), generator=torch.Generator().manual_seed(2))
    assert max_abs_diff(q, model, x) <= 1e-5
    rows = integer_grid_report(model, x[:1].numpy())
    assert all(r["ok"] for r in rows)
    scales = [model.get_initializer(n.input[1]) for n in model.graph.node if n.op_type == "Quant"]
    assert any(np.any(np.log2(s) != np.round(np.log2(s))) for s in scales)  # really not po2


def test_default_scales_are_powers_of_two(tmp_path):
    _, q, shape = quantized_zoo("lenet5", QuantSpec(weight_scaling="channel"))
    model = load_qonnx(export_qonnx_clean(q, shape, tmp_path / "m.onnx"))
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    for n in quants:
        s = model.get_initializer(n.input[1])
        assert np.all(np.log2(s) == np.round(np.log2(s))), n.name
        assert np.all(model.get_initializer(n.input[2]) == 0)


def test_kept_batchnorm_and_output_quant_export_exactly(tmp_path):
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Upsample(scale_factor=2), nn.Conv2d(4, 3, 1))
    q = quantize_model(randomize_bn(net), QuantSpec(fuse_bn=False, out_bits=8))
    calibrate(q, [torch.randn(8, 3, 8, 8)])
    model = load_qonnx(export_qonnx_clean(q, (1, 3, 8, 8), tmp_path / "m.onnx"))
    assert activation_path(model) == ["Quant", "Conv", "BatchNormalization", "Relu", "Quant",
                                      "Resize", "Conv", "Quant"]
    x = torch.randn(2, 3, 8, 8)
    assert max_abs_diff(q, model, x) <= 1e-5
    assert all(r["ok"] for r in integer_grid_report(model, x[:1].numpy()))


class Boom(nn.Module):
    """Fine in torch, fails inside the ONNX exporter."""

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            raise RuntimeError("no ONNX symbolic for Boom")
        return x


def test_export_failure_names_the_module_and_leaves_files_intact(tmp_path):
    _, q0, shape = quantized_zoo("lenet5", QuantSpec())
    layers = list(q0.named_children())
    q = nn.Sequential(OrderedDict(layers[:4] + [("boom", Boom())] + layers[4:]))
    ckpt = save_quant_checkpoint(tmp_path / "model.quant.pt", quantized_zoo("lenet5", QuantSpec())[1],
                                 "lenet5", ZOO["lenet5"], QuantSpec(), shape)
    target = tmp_path / "model.qonnx.onnx"
    target.write_bytes(b"previous export")
    before = ckpt.read_bytes()
    with pytest.raises(ExportError, match=r"QONNX export failed at module 'boom' \(Boom\): no ONNX symbolic"):
        export_qonnx_clean(q, shape, target)
    assert target.read_bytes() == b"previous export"
    assert ckpt.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.qonnx.onnx", "model.quant.pt"]  # no temp files


def test_quant_checkpoint_round_trip(tmp_path):
    net, q, shape = quantized_zoo("vgg16", QuantSpec(wbits=3, abits=5, weight_scaling="channel"))
    path = save_quant_checkpoint(tmp_path / "q.pt", q, "vgg16", ZOO["vgg16"], q.quant_spec, shape,
                                 {"float": {"balanced_accuracy": 0.5}})
    q2, meta = load_quant_checkpoint(path)
    assert meta["spec"] == q.quant_spec and meta["name"] == "vgg16"
    assert meta["metrics"]["float"]["balanced_accuracy"] == 0.5
    x = torch.randn(2, *shape[1:])
    with torch.no_grad():
        assert torch.equal(q(x), q2(x))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    from fpga_flow.errors import FlowError

    with pytest.raises(FlowError, match="bad.pt: not a readable checkpoint"):
        load_quant_checkpoint(bad)


def test_pruned_simplified_vgg16_with_fc_head(tmp_path):
    """The shape of a pruned+simplified model: BN fused away, uneven channels, hidden FC + dropout."""
    channels = [8, 8, 16, 8, 24, 16, 24, 32, 24, 32, 16, 24, 32, 16]
    net = build("vgg16-pruned", channels=channels, bn=False, in_size=64, hidden=16, dropout=0.5,
                num_classes=8).eval()
    spec = QuantSpec(wbits=3, abits=3)
    q = quantize_model(net, spec)
    calibrate(q, [torch.randn(8, 3, 64, 64)])
    model = load_qonnx(export_qonnx_clean(q, (1, 3, 64, 64), tmp_path / "m.onnx"))
    assert activation_path(model)[-7:] == ["MaxPool", "GlobalAveragePool", "Flatten", "Gemm", "Relu",
                                           "Quant", "Gemm"]
    x = torch.randn(2, 3, 64, 64)
    assert max_abs_diff(q, model, x) <= 1e-5
    rows = integer_grid_report(model, x[:1].numpy())
    assert all(r["ok"] for r in rows) and len([r for r in rows if r["weight"]]) == 15
    gap = [r for r in rows if r["op"] == "GlobalAveragePool"]
    # 2x2 map before the pool: channel sums of four 3-bit values, on the grid scale/4, 5 bits
    assert len(gap) == 1 and gap[0]["ok"] and gap[0]["bits"] == 5 and 7 < gap[0]["max"] <= 28


def test_hardware_invariant_violations_name_the_node(tmp_path):
    from fpga_flow.quant.export import check_hardware_invariants

    _, q, shape = quantized_zoo("lenet5", QuantSpec())
    path = export_qonnx_clean(q, shape, tmp_path / "m.onnx")
    check_hardware_invariants(load_qonnx(path))  # the export itself passes
    model = load_qonnx(path)
    act = [n for n in model.graph.node if n.op_type == "Quant"
           and model.get_initializer(n.input[0]) is None][1]
    model.set_initializer(act.input[2], np.array(1.0, dtype=np.float32))
    with pytest.raises(ExportError, match=f"node '{act.name}' has a non-zero zero point"):
        check_hardware_invariants(model, "m.onnx")
    model = load_qonnx(path)
    model.set_initializer(act.input[1], np.full((1, 5, 1, 1), 0.5, dtype=np.float32))
    with pytest.raises(ExportError, match=f"activation node '{act.name}' has a per-channel scale"):
        check_hardware_invariants(model, "m.onnx")
