"""Brevitas model -> clean QONNX file, plus the checks that the compiler may rely on it.

``export_qonnx_clean`` runs Brevitas' QONNX exporter (TorchScript path, batch 1), then qonnx
cleanup (InferShapes, GiveUniqueParameterTensors, FoldConstants keeping the Quant nodes,
FoldTransposeIntoQuantInit, RemoveUnusedTensors, RemoveStaticGraphInputs, GiveUniqueNodeNames,
GiveReadableTensorNames) followed by InferDataTypes and ``onnx.checker``. The file is written
atomically: on failure nothing is left at ``path`` (an earlier file there stays as it was).

What the compiler sees for a zoo model (NCHW, batch 1, all tensors float32 carrying
integer-valued data where a Quant produced them; every scale a power of two unless
``QuantSpec.scales="float"``, every zero point 0):

* ``Quant`` (signed, ``in_bits``) on the graph input;
* per conv/linear: ``Quant`` on the weight initializer (signed, narrow, zero point 0, per-tensor
  or per-channel scale) -> ``Conv``/``Gemm`` with a float bias;
* ``Relu`` -> ``Quant`` (unsigned, ``abits``, scalar scale, zero point 0): becomes one
  MultiThreshold, absorbing the bias (and BatchNormalization if it was kept);
* ``MaxPool``, ``Resize`` (nearest, asymmetric, floor) directly after such a ``Quant``;
* ``GlobalAveragePool`` on a quantized tensor -> ``Flatten`` -> ``Gemm``: the pool output is the
  integer channel sum times ``scale / (H*W)``, i.e. GlobalAccPool + a scalar Mul that moves
  past the next MatMul;
* the last ``Conv``/``Gemm`` output (logits / per-pixel class scores) is the integer accumulator
  times a scale plus the float bias, unless ``out_bits`` adds a final signed ``Quant``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fpga_flow.errors import FlowError


class ExportError(FlowError):
    """QONNX export or cleanup failed; the message names the module or node."""


def _push(stack: list[str], name: str) -> None:
    stack.append(name)


def _pop(stack: list[str]) -> None:
    stack.pop()


def _module_tracker(model: nn.Module) -> tuple[list[str], list]:
    stack: list[str] = []
    handles = []
    for name, mod in model.named_modules():
        if not name or "." in name:  # top-level layers of the flat Sequential
            continue
        handles.append(mod.register_forward_pre_hook(lambda m, a, n=name: _push(stack, n)))
        handles.append(mod.register_forward_hook(lambda m, a, o: _pop(stack)))
    return stack, handles


def export_qonnx_clean(qmodel: nn.Module, input_shape: tuple[int, ...], path: str | Path) -> Path:
    """Export ``qmodel`` to a cleaned QONNX file at ``path``.

    ``input_shape`` is the full input shape with its batch dimension (e.g. ``(1, 3, 224, 224)``);
    the batch is forced to 1. Failure -> ``ExportError`` naming the module or node; nothing is
    written at ``path`` then.
    """
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    path = Path(path)
    shape = (1, *tuple(input_shape)[1:])
    device = next(iter(qmodel.parameters()), torch.zeros(())).device
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = qmodel.training
    qmodel.eval()
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent, prefix=".export-")
    os.close(fd)
    stack, handles = _module_tracker(qmodel)
    try:
        try:
            with torch.no_grad():
                export_qonnx(qmodel, torch.zeros(shape, device=device), tmp, dynamo=False)
        except Exception as err:
            where = "model"
            if stack:
                kind = type(dict(qmodel.named_children())[stack[-1]]).__name__
                where = f"module '{stack[-1]}' ({kind})"
            raise ExportError(f"QONNX export failed at {where}: {_one_line(err)}") from err
        finally:
            for h in handles:
                h.remove()
        try:
            model = cleanup_model(ModelWrapper(tmp))
            model = _infer_datatypes(model)
        except Exception as err:
            raise ExportError(f"QONNX cleanup of {path.name} failed{_node_hint(err)}: "
                              f"{_one_line(err)}") from err
        check_hardware_invariants(model, path.name)
        model.save(tmp)
        try:
            import onnx

            onnx.checker.check_model(tmp)
        except Exception as err:
            raise ExportError(f"onnx.checker rejected {path.name}{_node_hint(err)}: "
                              f"{_one_line(err)}") from err
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        qmodel.train(was_training)
    return path


def _infer_datatypes(model):
    from qonnx.transformation.infer_datatypes import InferDataTypes

    return model.transform(InferDataTypes())


def _one_line(err: BaseException) -> str:
    msg = " ".join(str(err).split())
    return (msg[:300] + "...") if len(msg) > 300 else (msg or type(err).__name__)


def _node_hint(err: BaseException) -> str:
    m = re.search(r"\bnode\b\s*[(\"']?([A-Za-z_][\w/.:-]*)", str(err), re.IGNORECASE)
    return f" at node '{m.group(1)}'" if m else ""


@dataclass(frozen=True)
class QuantNodeInfo:
    """One Quant node of an exported graph: its output tensor and integer format."""

    node: str
    output: str
    bits: int
    signed: bool
    narrow: bool
    is_weight: bool

    @property
    def int_range(self) -> tuple[int, int]:
        if self.signed:
            lo = -(2 ** (self.bits - 1)) + (1 if self.narrow else 0)
            return lo, 2 ** (self.bits - 1) - 1
        return 0, 2 ** self.bits - 1 - (1 if self.narrow else 0)


def quant_nodes(model) -> list[QuantNodeInfo]:
    """Every Quant node of a (cleaned) QONNX ModelWrapper with its constant parameters."""
    from qonnx.custom_op.registry import getCustomOp

    out = []
    for node in model.get_nodes_by_op_type("Quant"):
        bits = model.get_initializer(node.input[3])
        if bits is None:
            raise FlowError(f"node '{node.name}': Quant bit width is not a constant")
        op = getCustomOp(node)
        out.append(QuantNodeInfo(node.name, node.output[0], int(np.asarray(bits).item()),
                                 bool(op.get_nodeattr("signed")), bool(op.get_nodeattr("narrow")),
                                 model.get_initializer(node.input[0]) is not None))
    return out


def check_hardware_invariants(model, where: str = "model") -> None:
    """Every Quant: constant scale, zero point 0, <= 8 bits; activations: one scalar scale."""
    for q in quant_nodes(model):
        node = model.get_node_from_name(q.node)
        scale = model.get_initializer(node.input[1])
        zeropt = model.get_initializer(node.input[2])
        if scale is None or zeropt is None:
            raise ExportError(f"{where}: node '{q.node}' has a non-constant scale/zero point")
        if np.any(np.asarray(zeropt) != 0):
            raise ExportError(f"{where}: node '{q.node}' has a non-zero zero point")
        if q.bits > 8 or q.bits < 2:
            raise ExportError(f"{where}: node '{q.node}' is {q.bits}-bit (2..8 supported)")
        if not q.is_weight and np.asarray(scale).size != 1:
            raise ExportError(f"{where}: activation node '{q.node}' has a per-channel scale "
                              f"{np.asarray(scale).shape}; the hardware needs one per tensor")


def load_qonnx(path: str | Path):
    from qonnx.core.modelwrapper import ModelWrapper

    return ModelWrapper(str(path))


def run_qonnx(model, x: np.ndarray, full: bool = False) -> dict[str, np.ndarray] | np.ndarray:
    """Execute a batch-1 QONNX model on each sample of ``x`` (N, ...); stack the outputs."""
    from qonnx.core.onnx_exec import execute_onnx

    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    if full:
        return execute_onnx(model, {iname: x[:1].astype(np.float32)}, return_full_exec_context=True)
    outs = [execute_onnx(model, {iname: x[i:i + 1].astype(np.float32)})[oname]
            for i in range(x.shape[0])]
    return np.concatenate(outs, axis=0)


def max_abs_diff(qmodel: nn.Module, model, x: torch.Tensor) -> float:
    """max |Brevitas(x) - execute_onnx(QONNX)(x)| over a batch."""
    qmodel.eval()
    with torch.no_grad():
        ref = qmodel(x).numpy()
    got = run_qonnx(model, x.numpy())
    return float(np.max(np.abs(ref - got)))


GRID_PRESERVING = ("MaxPool", "Resize", "Upsample", "Flatten", "Reshape", "Transpose")


def integer_grid_report(model, x: np.ndarray, tol: float = 1e-3) -> list[dict]:
    """For every activation tensor on input ``x`` (one sample): integral and in range?

    One row per Quant output (weights included), per MaxPool/Resize/Flatten output (same grid as
    its input) and per GlobalAveragePool output (grid ``scale/(H*W)``, integer channel sums of
    ``bits + ceil(log2(H*W))`` bits). Row keys: node, op, bits, signed, weight, min/max of the
    integer view, frac (largest distance from an integer) and ok.
    """
    ctx = run_qonnx(model, x, full=True)
    grids: dict[str, tuple[np.ndarray, int, int, int, bool]] = {}  # tensor -> scale, lo, hi, bits
    rows = []

    def row(name: str, op: str, tensor: str, scale, lo: int, hi: int, bits: int, signed: bool,
            weight: bool) -> None:
        val = np.asarray(ctx[tensor], dtype=np.float64)
        ints = val / np.asarray(scale, dtype=np.float64)
        r = np.round(ints)
        frac = float(np.max(np.abs(ints - r))) if ints.size else 0.0
        rows.append(dict(node=name, op=op, bits=bits, signed=signed, weight=weight,
                         min=int(r.min()), max=int(r.max()), frac=frac,
                         ok=bool(frac <= tol and r.min() >= lo and r.max() <= hi)))

    infos = {q.node: q for q in quant_nodes(model)}
    for node in model.graph.node:
        if node.name in infos:
            q = infos[node.name]
            scale = model.get_initializer(node.input[1])
            lo, hi = q.int_range
            row(q.node, "Quant", q.output, scale, lo, hi, q.bits, q.signed, q.is_weight)
            if not q.is_weight:
                grids[q.output] = (np.asarray(scale), lo, hi, q.bits, q.signed)
        elif node.op_type in GRID_PRESERVING and node.input[0] in grids:
            grids[node.output[0]] = g = grids[node.input[0]]
            row(node.name, node.op_type, node.output[0], g[0], g[1], g[2], g[3], g[4], False)
        elif node.op_type == "GlobalAveragePool" and node.input[0] in grids:
            scale, lo, hi, bits, signed = grids[node.input[0]]
            n = int(np.prod(model.get_tensor_shape(node.input[0])[2:]))
            g = (scale / n, lo * n, hi * n, bits + int(np.ceil(np.log2(n))), signed)
            grids[node.output[0]] = g
            row(node.name, node.op_type, node.output[0], *g, False)
    return rows
