"""Streamline: QONNX (float + Quant) -> integer NHWC graph of Im2Col/MatMul/MultiThreshold/...

Same end point as FINN's ConvertQONNXtoFINN + Streamline + LowerConvsToMatMul + MakeMaxPoolNHWC:
every conv/linear is an integer MatMul (integer weights) followed by an integer MultiThreshold that
absorbs scales, biases, BatchNorm, ReLU and the activation quantizer. Instead of FINN's chain of
local rewrites, one pass walks the graph and keeps, per float tensor, the integer tensor it derives
from plus the elementwise chain between them (see ``chain.py``); thresholds are solved exactly.

The graph input quantizer and whatever float chain follows the last integer tensor run on the
host; both are recorded in the ``io`` dict (-> ``io.json``).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.general.intquant import int_quant
from qonnx.util.basic import qonnx_make_model

from fpga_flow.compiler.hw.base import int_dtype_for_range
from fpga_flow.errors import FlowError

from .bipolar import bipolar_levels, bipolar_thresholds
from .branches import channel_concat, check_join_quant, residual_add
from .unpool import max_unpool, pool_with_indices
from .depthwise import average_pool, depthwise_matrix, grouped_matrix
from .chain import F32, Step, compute_thresholds, eval_chain, quant_levels, slope_signs
from .ir import MAX_EXACT, IntT, QConst, _attr, _Builder, _err, host_pre


class Streamline:
    """``apply(model) -> (model, changed)``; ``self.io`` holds the host side afterwards."""

    def __init__(self):
        self.io: dict = {}
        # QONNX activation-quantizer output -> integer tensor of the new graph (node-by-node checks)
        self.tensor_map: dict[str, dict] = {}
        # residual sums whose float32 value differs in the last bit from the graph's: the quantizer
        # after them is checked on every pair of inputs (transforms/branches.py)
        self.join_checks: dict[str, tuple] = {}

    # ---------------- helpers ----------------
    def _chan_vec(self, node, arr: np.ndarray, t: IntT, qshape) -> np.ndarray:
        """Constant broadcast against a qonnx tensor -> scalar or (C,) vector (NHWC channels)."""
        arr = np.asarray(arr, dtype=F32)
        if arr.size == 1:
            return arr.reshape(())
        if t.perm is not None or len(qshape) == 2:
            if arr.size == t.C and (t.perm is None or t.shape[1] * t.shape[2] == 1):
                return arr.reshape(-1)
            raise _err(node, "per-element constant on a flattened tensor is not supported")
        full = np.broadcast_to(arr, qshape)  # (1,C,H,W)
        v = full[0, :, 0, 0] if full.ndim == 4 else full.reshape(full.shape[0], -1)[:, 0]
        if full.ndim == 4 and not np.array_equal(full, np.broadcast_to(v.reshape(1, -1, 1, 1), full.shape)):
            raise _err(node, "constant varies over H/W; only per-channel constants are supported")
        return v.astype(F32)

    def _input_affine(self, node, t: IntT, padded: bool) -> tuple[np.float32, np.float32]:
        """``(s, k)`` with ``f(int) = s·(int + k)``, per tensor (needed in front of a MatMul/Conv).
        ``k ≠ 0`` only for a dequantization ``[add k, mul s]`` (a zero point, e.g. the 1/2 of a bipolar
        bit) and without zero padding, which an offset integer could not represent."""
        st = t.steps
        if (len(st) == 2 and st[0].kind == "add" and st[1].kind == "mul" and np.asarray(st[0].a).size == 1
                and np.asarray(st[1].a).size == 1 and float(st[0].a) != 0):
            if padded:
                raise _err(node, "zero padding of an input with a zero point (e.g. bipolar ±1) cannot be "
                                 "represented by its integers; export the conv without padding")
            return F32(st[1].a), F32(st[0].a)
        return self._scalar_scale(node, t), F32(0)

    def _scalar_scale(self, node, t: IntT) -> np.float32:
        """The scalar s with f(int) = s*int (needed in front of a MatMul/Conv)."""
        for s in t.steps:
            if s.kind not in ("mul", "div", "add", "affine"):
                raise _err(node, f"a non-linear '{s.kind}' lies between the quantizer and this layer; "
                                 "the input of a conv/linear layer must be a quantized tensor")
        C = t.C
        zero = eval_chain(t.steps, np.zeros((C,)))
        one = eval_chain(t.steps, np.ones((C,)))
        if np.any(zero != 0):
            raise _err(node, "input has a non-zero offset (zero point or bias) before a conv/linear "
                             "layer; integer padding would not match")
        if not np.all(one == one[0]):
            raise _err(node, "input has a per-channel scale; a conv/linear input needs a per-tensor scale")
        return F32(one[0])

    def _emit_mt(self, b: _Builder, t: IntT, T: np.ndarray, qmin: int, qmax: int, name_hint: str) -> str:
        n = T.shape[1]
        act_bits = max(1, math.ceil(math.log2(n + 1)))
        pad = (2**act_bits - 1) - n
        if pad:
            T = np.concatenate([T, np.full((T.shape[0], pad), t.hi + 1, dtype=T.dtype)], axis=1)
        odt = f"INT{act_bits}" if qmin < 0 else f"UINT{act_bits}"
        if qmin < DataType[odt].min() or qmax > DataType[odt].max():
            odt = int_dtype_for_range(qmin, qmax)
        tname = b.init("thr", T.astype(F32))
        out = b.tensor(name_hint, t.shape, odt)
        b.node("MultiThreshold", [t.name, tname], [out], domain="qonnx.custom_op.general",
               out_dtype=odt, out_bias=float(qmin), data_layout="NHWC")
        return out

    def _flip(self, node, t: IntT, b: _Builder) -> IntT:
        """Make the chain non-decreasing by negating weight columns of the producing MatMul."""
        sg = slope_signs(t.steps, t.C)
        if np.all(sg >= 0):
            return t
        if t.weight_init is None:
            raise _err(node, "the float chain in front of this quantizer decreases (negative scale) "
                             "and there is no weight matrix to absorb the sign")
        init = next(i for i in b.inits if i.name == t.weight_init)
        W = numpy_helper.to_array(init).copy()
        neg = sg < 0
        W[:, neg] = -W[:, neg]
        init.CopyFrom(numpy_helper.from_array(W, t.weight_init))
        b.dtypes[t.weight_init] = int_dtype_for_range(int(W.min()), int(W.max()))
        mul = np.where(neg, -1.0, 1.0).astype(F32)
        lo, hi = min(t.lo, -t.hi), max(t.hi, -t.lo)
        return IntT(t.name, t.shape, lo, hi, [Step("mul", mul)] + t.steps, t.perm, None)

    # ---------------- main ----------------
    def apply(self, model: ModelWrapper):
        g = model.graph
        if len(g.input) != 1 or len(g.output) != 1:
            raise FlowError(f"model must have one input and one output (has {len(g.input)}/{len(g.output)})")
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        consts: dict[str, np.ndarray] = dict(inits)
        qconsts: dict[str, QConst] = {}
        ints: dict[str, IntT] = {}
        qshape = {}
        in_name = g.input[0].name
        b = _Builder()

        def shp(name):
            return tuple(model.get_tensor_shape(name))

        pre = {in_name: {"steps": [], "shape": shp(in_name)}}  # float preprocessing on the host
        pool_idx: dict[str, dict] = {}  # ONNX Indices tensor -> its hardware index stream (unpool.py)

        for node in g.node:
            op = node.op_type
            ins = list(node.input)
            out = node.output[0] if node.output else None

            if op == "Constant":
                consts[out] = numpy_helper.to_array(_attr(node, "value"))
                continue
            if op in ("Quant", "BipolarQuant"):
                x = ins[0]
                bipolar = op == "BipolarQuant"
                nparams = 1 if bipolar else 3
                if not all(i in consts for i in ins[1:1 + nparams]):
                    raise _err(node, "quantizer scale/zero-point/bit-width must be constants")
                if bipolar:  # y = scale·(x >= 0 ? 1 : -1)
                    scale, zp, bits = np.asarray(consts[ins[1]], dtype=F32), np.zeros((), F32), 1
                    signed, narrow, rmode = True, False, "ROUND"
                    if np.any(scale <= 0):
                        raise _err(node, "bipolar quantizer with a non-positive scale")
                else:
                    scale, zp, bits = (np.asarray(consts[i], dtype=F32) for i in ins[1:4])
                    bits = int(bits)
                    signed, narrow = bool(_attr(node, "signed", 1)), bool(_attr(node, "narrow", 0))
                    rmode = _attr(node, "rounding_mode", b"ROUND")
                    rmode = rmode.decode() if isinstance(rmode, bytes) else rmode
                    if bits == 1 and signed:
                        raise _err(node, "1-bit signed Quant is not supported; export it as BipolarQuant")
                if x in consts:
                    w = np.asarray(consts[x], dtype=F32)
                    if bipolar:
                        q = bipolar_levels(w)
                        y = q * scale
                    else:
                        y = int_quant(w, scale, zp, F32(bits), signed, narrow, rmode)
                        q = np.round(y / scale + zp).astype(np.int64)
                    qconsts[out] = QConst(q, scale, zp, bits, signed, narrow)
                    consts[out] = y.astype(F32)
                    continue
                qmin, qmax = (0, 1) if bipolar else quant_levels(signed, narrow, bits)
                if bipolar:  # the bit b of v = (b - 1/2)·2s travels (module bipolar.py)
                    scale = (2 * scale).astype(F32).reshape(() if scale.size == 1 else scale.shape)
                    zp = np.full(scale.shape, 0.5, F32)
                if x in pre:
                    if scale.size != 1 or zp.size != 1:
                        raise _err(node, "the input quantizer must have a per-tensor scale")
                    ishape = shp(in_name)
                    qsh = pre[x]["shape"]
                    nhwc = (1, qsh[2], qsh[3], qsh[1]) if len(qsh) == 4 else (1, 1, 1, int(np.prod(qsh[1:])))
                    idt = int_dtype_for_range(qmin, qmax)
                    self.io["input"] = {
                        "name": in_name, "qonnx_shape": list(ishape), "quant_shape": list(qsh),
                        "shape": list(nhwc), "datatype": idt, "pre_steps": [st.to_json() for st in pre[x]["steps"]],
                        "scale": float(scale), "zero_point": float(zp), "bits": bits,
                        "signed": signed, "narrow": narrow, "rounding_mode": rmode,
                        **({"bipolar": True} if bipolar else {}),
                    }
                    b.dtypes["global_in"] = idt
                    ints[out] = IntT("global_in", nhwc, qmin, qmax, self._dq_steps(scale, zp), None)
                    qshape[out] = qsh
                    continue
                if x not in ints:
                    raise _err(node, f"input '{x}' is neither a constant nor a quantized activation")
                t = self._flip(node, ints[x], b)
                C = t.C
                sc = self._chan_vec(node, scale, t, qshape[x])
                z = self._chan_vec(node, zp, t, qshape[x])
                if bipolar:
                    T = bipolar_thresholds(t.steps, C, t.lo, t.hi)
                else:
                    T, qmin_ = compute_thresholds(t.steps, C, t.lo, t.hi, np.broadcast_to(sc, (C,)),
                                                  np.broadcast_to(z, (C,)), bits, signed, narrow, rmode)
                if t.name in self.join_checks:
                    check_join_quant(node, self.join_checks[t.name], t, T, qmin, sc, z, bits, signed, narrow, rmode)
                o = self._emit_mt(b, t, T, qmin, qmax, "act")
                ints[out] = IntT(o, t.shape, qmin, qmax, self._dq_steps(sc, z), t.perm)
                self.tensor_map[out] = {"tensor": o, "scale": np.asarray(sc, np.float64).ravel().tolist(),
                                        "zero_point": np.asarray(z, np.float64).ravel().tolist(),
                                        "flat": t.perm is not None}
                qshape[out] = qshape[x]
                continue

            if any(i in pre for i in ins):
                host_pre(node, ins, out, pre, consts, shp)
                continue
            # every other op consumes at least one activation
            acts = [i for i in ins if i in ints]
            if not acts:
                if all((i in consts) or i == "" for i in ins):
                    raise _err(node, "constant subgraph left after tidy (unexpected)")
                src = [i for i in ins if i not in consts and i != ""]
                raise _err(node, f"consumes float tensor '{src[0]}' which is not quantized; "
                                 "insert a quantizer (QuantIdentity) in front of it")
            x = acts[0]
            t = ints[x]
            qs = qshape[x]

            if op in ("Identity", "Dropout"):
                ints[out], qshape[out] = t, qs
            elif op == "Relu":
                ints[out], qshape[out] = IntT(t.name, t.shape, t.lo, t.hi, t.steps + [Step("relu")], t.perm, t.weight_init), qs
            elif op == "Clip":
                lo = consts.get(ins[1], None) if len(ins) > 1 and ins[1] else _attr(node, "min", -np.inf)
                hi = consts.get(ins[2], None) if len(ins) > 2 and ins[2] else _attr(node, "max", np.inf)
                lo = -np.inf if lo is None else float(lo)
                hi = np.inf if hi is None else float(hi)
                ints[out], qshape[out] = IntT(t.name, t.shape, t.lo, t.hi, t.steps + [Step("clip", extra={"lo": lo, "hi": hi})], t.perm, t.weight_init), qs
            elif op == "Add" and len(acts) == 2:
                ints[out], qshape[out] = residual_add(node, ints[acts[0]], ints[acts[1]], b, self.join_checks), qs
            elif op == "Concat":
                ints[out] = channel_concat(node, [ints[a] for a in ins if a in ints], [qshape[a] for a in ins], b)
                qshape[out] = shp(out)
            elif op in ("Add", "Sub", "Mul", "Div"):
                if len(acts) > 1:
                    raise _err(node, "elementwise op on two activation tensors (residual/branch) is not supported")
                other = ins[1] if ins[0] == x else ins[0]
                if other not in consts:
                    raise _err(node, f"operand '{other}' is not a constant")
                c = self._chan_vec(node, consts[other], t, qs)
                if op == "Add":
                    st = [Step("add", c)]
                elif op == "Mul":
                    st = [Step("mul", c)]
                elif op == "Div":
                    if ins[0] != x:
                        raise _err(node, "constant divided by an activation is not supported")
                    st = [Step("div", c)]
                else:
                    st = [Step("add", -c)] if ins[0] == x else [Step("mul", np.asarray(-1, F32)), Step("add", c)]
                ints[out], qshape[out] = IntT(t.name, t.shape, t.lo, t.hi, t.steps + st, t.perm, t.weight_init), qs
            elif op == "BatchNormalization":
                gam, bet, mean, var = (np.asarray(consts[i], F32).reshape(-1) for i in ins[1:5])
                st = Step("bn", extra={"gamma": gam, "beta": bet, "mean": mean, "var": var,
                                       "eps": float(_attr(node, "epsilon", 1e-5))})
                ints[out], qshape[out] = IntT(t.name, t.shape, t.lo, t.hi, t.steps + [st], t.perm, t.weight_init), qs
            elif op == "Conv":
                ints[out] = self._conv(node, t, ins, consts, qconsts, b)
                qshape[out] = shp(out)
            elif op in ("Gemm", "MatMul"):
                ints[out] = self._gemm(node, t, ins, consts, qconsts, b)
                qshape[out] = shp(out)
            elif op == "MaxPool" and len(node.output) > 1 and model.find_consumers(node.output[1]):
                ints[out], pool_idx[node.output[1]] = pool_with_indices(node, t, b, b.dtypes.get(t.name))
                qshape[out] = shp(out)
            elif op == "MaxPool":
                ints[out] = self._maxpool(node, t, b)
                qshape[out] = shp(out)
            elif op == "MaxUnpool":
                ints[out] = max_unpool(node, t, pool_idx.get(ins[1]), b, shp(out))
                qshape[out] = shp(out)
            elif op in ("GlobalAveragePool", "ReduceMean", "AveragePool"):
                ints[out] = self._gap(node, t, qs, consts, b)
                qshape[out] = shp(out)
            elif op in ("Resize", "Upsample"):
                ints[out] = self._upsample(node, t, qs, consts, b, shp(out))
                qshape[out] = shp(out)
            elif op in ("Flatten", "Reshape"):
                oshape = shp(out)
                if len(qs) == 4 and len(oshape) == 2 and oshape[1] == int(np.prod(qs[1:])):
                    _, C, H, W = qs
                    perm = None
                    if H * W > 1:
                        c, h, w = np.meshgrid(np.arange(C), np.arange(H), np.arange(W), indexing="ij")
                        flat_q = (c * H * W + h * W + w)  # qonnx index of (c,h,w)
                        perm = flat_q.transpose(1, 2, 0).reshape(-1)  # NHWC order
                    ints[out] = IntT(t.name, t.shape, t.lo, t.hi, t.steps, perm, t.weight_init)
                    qshape[out] = oshape
                elif tuple(oshape) == tuple(qs) or int(np.prod(oshape)) == t.C == int(np.prod(qs)):
                    ints[out], qshape[out] = t, oshape
                else:
                    raise _err(node, f"reshape {qs} -> {oshape} is not a flatten; not supported")
            elif op in ("ArgMax", "TopK"):
                o_idx = node.output[-1]
                ints[o_idx] = self._argmax(node, t, qs, consts, b)
                qshape[o_idx] = shp(o_idx)
            else:
                raise _err(node, "op type not supported by the dataflow compiler; the supported ops, beside FINN's, "
                                 "are listed in README.md (Supported ops beside FINN's)")

        out_name = g.output[0].name
        if out_name not in ints:
            raise FlowError(f"graph output '{out_name}' is not derived from the quantized input")
        t = ints[out_name]
        argmax = self.io.pop("_argmax", None)
        self.io["output"] = {
            "name": out_name, "qonnx_shape": list(shp(out_name)), "shape": list(t.shape),
            "datatype": b.dtypes.get(t.name, int_dtype_for_range(t.lo, t.hi)),
            "steps": [s.to_json() for s in t.steps],
            "host_argmax": bool(argmax == "host"),
            "layout": "NHWC->NCHW" if len(shp(out_name)) == 4 else "NC",
        }
        b.vi = [v for v in b.vi if v.name not in ("global_in", t.name)]
        graph = helper.make_graph(
            b.nodes, "streamlined",
            [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, list(self.io["input"]["shape"]))],
            [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.shape))],
            b.inits, value_info=b.vi)
        new = ModelWrapper(qonnx_make_model(graph, producer_name="fpga_flow.compiler",
                                            opset_imports=[helper.make_opsetid("", 13)]))
        for k, v in b.dtypes.items():
            new.set_tensor_datatype(k, DataType[v])
        new.set_metadata_prop("fpga_flow.io", __import__("json").dumps(self.io))
        return new, False

    @staticmethod
    def _dq_steps(scale, zp):
        zp = np.asarray(zp, dtype=F32)
        steps = []
        if np.any(zp != 0):
            steps.append(Step("add", -zp))
        steps.append(Step("mul", np.asarray(scale, dtype=F32)))
        return steps

    def _weights(self, node, w_name, consts, qconsts) -> QConst:
        if w_name not in qconsts:
            if w_name in consts:
                raise _err(node, f"weight '{w_name}' is a float tensor; integer (Quant-ized) weights are required")
            raise _err(node, f"weight '{w_name}' is not a constant")
        q = qconsts[w_name]
        if np.any(q.zp != 0):
            raise _err(node, "weights with a non-zero zero point are not supported")
        return q

    def _matmul(self, node, t: IntT, Wm: np.ndarray, b: _Builder, in_name: str, in_shape, oshape) -> IntT:
        wdt = int_dtype_for_range(int(Wm.min()), int(Wm.max()))
        wname = b.init("W", Wm.astype(F32), wdt)
        pos = np.where(Wm > 0, Wm, 0).sum(0)
        neg = np.where(Wm < 0, Wm, 0).sum(0)
        hi = int((pos * t.hi + neg * t.lo).max())
        lo = int((pos * t.lo + neg * t.hi).min())
        if max(abs(lo), abs(hi)) >= MAX_EXACT:
            raise _err(node, f"accumulator range [{lo}, {hi}] exceeds 2^24 (float32-exact execution)")
        o = b.tensor("acc", oshape, int_dtype_for_range(lo, hi))
        b.node("MatMul", [in_name, wname], [o])
        return IntT(o, oshape, lo, hi, [], None, wname)

    def _conv(self, node, t, ins, consts, qconsts, b) -> IntT:
        if t.perm is not None:
            raise _err(node, "conv on a flattened tensor")
        sx, kx = self._input_affine(node, t, any(_attr(node, "pads", [0, 0, 0, 0])))
        wq = self._weights(node, ins[1], consts, qconsts)
        group = int(_attr(node, "group", 1))
        depthwise = group > 1 and group == t.C == wq.q.shape[0] and wq.q.shape[1] == 1
        if group != 1 and not depthwise and (t.C % group or wq.q.shape[0] % group):
            raise _err(node, f"grouped convolution (group={group}) of {t.C} input / {wq.q.shape[0]} output "
                             "channels: the group count must divide both")
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise _err(node, "dilated convolution is not supported")
        if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise _err(node, "auto_pad is not supported; export with explicit pads")
        Wq = wq.q  # (Cout, Cin, kh, kw)
        cout, cin, kh, kw = Wq.shape
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        strides = list(_attr(node, "strides", [1, 1]))
        _, H, W, C = t.shape
        if C != cin * group:
            raise _err(node, f"channel mismatch {C} vs {cin * group}")
        oh = (H + pads[0] + pads[2] - kh) // strides[0] + 1
        ow = (W + pads[1] + pads[3] - kw) // strides[1] + 1
        src = t.name
        if (kh, kw) != (1, 1) or any(pads) or strides != [1, 1] or depthwise:
            src = b.tensor("im2col", (1, oh, ow, kh * kw * C), b.dtypes.get(t.name))
            b.node("Im2Col", [t.name], [src], domain="qonnx.custom_op.general",
                   stride=strides, kernel_size=[kh, kw], input_shape=f"(1, {H}, {W}, {C})",
                   pad_amount=[pads[0], pads[1], pads[2], pads[3]], pad_value=0, depthwise=int(depthwise))
        Wm = (depthwise_matrix(Wq) if depthwise else grouped_matrix(Wq, group) if group > 1
              else Wq.transpose(2, 3, 1, 0).reshape(kh * kw * cin, cout))
        r = self._matmul(node, t, Wm, b, src, None, (1, oh, ow, cout))
        ws = np.broadcast_to(np.asarray(wq.scale, dtype=F32).reshape(-1), (cout,)) if np.asarray(wq.scale).size > 1 else np.asarray(wq.scale, F32).reshape(())
        r.steps = self._offset_steps(kx, Wm) + [Step("mul", (sx * ws).astype(F32))]
        if len(ins) > 2 and ins[2]:
            bias = np.asarray(consts[ins[2]], dtype=F32).reshape(-1)
            r.steps.append(Step("add", bias))
        return r

    @staticmethod
    def _offset_steps(k, Wm) -> list[Step]:
        """Σ_i W[i,c]·(x_i + k) = acc_c + k·Σ_i W[i,c] (for a bipolar bit, k = −½: a half-integer,
        exact in float32)."""
        if k == 0:
            return []
        return [Step("add", (F32(k) * Wm.sum(axis=0)).astype(F32))]

    def _gemm(self, node, t, ins, consts, qconsts, b) -> IntT:
        sx, kx = self._input_affine(node, t, False)
        wq = self._weights(node, ins[1], consts, qconsts)
        Wq = wq.q
        ws = np.asarray(wq.scale, dtype=F32)
        if node.op_type == "Gemm":
            if _attr(node, "transA", 0):
                raise _err(node, "transA=1 not supported")
            if _attr(node, "transB", 0):
                Wq = Wq.T
                ws = ws.T
        K, N = Wq.shape
        ws = ws.reshape(-1) if ws.size > 1 else ws.reshape(())
        if ws.size > 1 and ws.size != N:
            raise _err(node, "weight scale must be per-tensor or per-output-channel")
        if t.perm is not None:
            Wq = Wq[t.perm]
        n_in = int(np.prod(t.shape))
        if n_in != K:
            raise _err(node, f"input has {n_in} elements, weight expects {K}")
        src = t.name
        if t.shape[1] * t.shape[2] > 1:
            src = b.tensor("flat", (1, 1, 1, K), b.dtypes.get(t.name))
            shp = b.init("shape", np.array([1, 1, 1, K], dtype=np.int64))
            b.node("Reshape", [t.name, shp], [src])
        r = self._matmul(node, t, Wq, b, src, None, (1, 1, 1, N))
        r.steps = self._offset_steps(kx, Wq) + [Step("mul", (sx * ws).astype(F32))]
        alpha, beta = float(_attr(node, "alpha", 1.0)), float(_attr(node, "beta", 1.0))
        if alpha != 1.0:
            r.steps.append(Step("mul", np.asarray(alpha, F32)))
        if len(ins) > 2 and ins[2]:
            bias = np.asarray(consts[ins[2]], dtype=F32).reshape(-1) * F32(beta)
            r.steps.append(Step("add", bias.astype(F32)))
        return r

    def _maxpool(self, node, t, b) -> IntT:
        k = list(_attr(node, "kernel_shape"))
        s = list(_attr(node, "strides", k))
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        if k[0] != k[1] or s != k or any(pads) or _attr(node, "ceil_mode", 0):
            raise _err(node, f"only k×k max-pool with stride k, no padding, floor mode is supported "
                             f"(kernel {k}, stride {s}, pads {pads})")
        if np.any(slope_signs(t.steps, t.C) < 0):
            raise _err(node, "max-pool after a decreasing scale cannot be moved onto integers")
        _, H, W, C = t.shape
        oshape = (1, H // k[0], W // k[0], C)
        o = b.tensor("pool", oshape, b.dtypes.get(t.name))
        b.node("MaxPoolNHWC", [t.name], [o], domain="qonnx.custom_op.general",
               kernel_shape=k, strides=s, pads=[0, 0, 0, 0])
        return IntT(o, oshape, t.lo, t.hi, t.steps, None, None)

    def _gap(self, node, t, qs, consts, b) -> IntT:
        _, H, W, C = t.shape
        if node.op_type == "AveragePool":
            k = list(_attr(node, "kernel_shape"))
            if k != [H, W]:
                return average_pool(node, t, b)
        if node.op_type == "ReduceMean":
            axes = _attr(node, "axes", None)
            if axes is None and len(node.input) > 1 and node.input[1]:
                axes = consts[node.input[1]].tolist()
            if sorted(int(a) % 4 for a in axes) != [2, 3] or not _attr(node, "keepdims", 1):
                raise _err(node, f"ReduceMean over axes {axes} is not a global average pool")
        for s in t.steps:
            if not s.is_linear():
                raise _err(node, f"average pool after a non-linear '{s.kind}' (quantize first)")
        N = H * W
        oshape = (1, 1, 1, C)
        lo, hi = t.lo * N, t.hi * N
        o = b.tensor("gsum", oshape, int_dtype_for_range(lo, hi))
        ax = b.init("axes", np.array([1, 2], dtype=np.int64))
        b.node("ReduceSum", [t.name, ax], [o], keepdims=1)
        return IntT(o, oshape, lo, hi, [Step("div", np.asarray(N, F32))] + t.steps, None, None)

    def _upsample(self, node, t, qs, consts, b, oq) -> IntT:
        mode = _attr(node, "mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "nearest":
            raise _err(node, f"only nearest upsampling is supported (mode={mode})")
        _, H, W, C = t.shape
        sh, sw = oq[2] / H, oq[3] / W
        if sh != sw or sh != int(sh) or oq[1] != C:
            raise _err(node, f"upsampling {qs} -> {oq} is not an integer, isotropic scale")
        S = int(sh)
        oshape = (1, H * S, W * S, C)
        sc = b.init("scales", np.array([1, S, S, 1], dtype=F32))
        o = b.tensor("up", oshape, b.dtypes.get(t.name))
        b.node("Resize", [t.name, "", sc], [o], mode="nearest")
        return IntT(o, oshape, t.lo, t.hi, t.steps, None, None)

    def _argmax(self, node, t, qs, consts, b) -> IntT:
        axis = int(_attr(node, "axis", -1 if node.op_type == "TopK" else 0))
        if axis % len(qs) != 1:
            raise _err(node, "argmax must be over the channel axis")
        if node.op_type == "TopK" and int(np.asarray(consts.get(node.input[1], 1)).reshape(-1)[0]) != 1:
            raise _err(node, "TopK with k > 1 is not supported")
        sg = slope_signs(t.steps, t.C)
        uniform = all(np.asarray(s.a if s.a is not None else 0).size <= 1 and
                      all(np.asarray(v).size <= 1 for v in s.extra.values()) for s in t.steps)
        if not (uniform and np.all(sg > 0)):
            # argmax of per-channel scaled values is not argmax of the integers: host does it
            self.io["_argmax"] = "host"
            return t
        oshape = t.shape[:-1] + (1,)
        L = t.C
        o = b.tensor("label", oshape, f"UINT{max(1, math.ceil(math.log2(L)))}")
        i64 = f"{o}_i64"
        b.vi.append(helper.make_tensor_value_info(i64, TensorProto.INT64, list(oshape)))
        b.node("ArgMax", [t.name], [i64], axis=-1, keepdims=1)
        b.node("Cast", [i64], [o], to=TensorProto.FLOAT)
        return IntT(o, oshape, 0, L - 1, [], None, None)
