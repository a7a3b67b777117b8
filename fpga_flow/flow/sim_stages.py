"""The accuracy stages: test images through Verilator (checked bit for bit against the compiled dataflow
graph) and the float / pruned / quantized / hardware accuracy table."""

from __future__ import annotations

import time

from fpga_flow.errors import FlowError
from fpga_flow.flow.runner import Flow, StageSkipped
from fpga_flow.runtime.buildinfo import read_json, write_json


# cycles the hardware-accuracy run may simulate (Verilator runs ~1e6-1e7 cycles/s here): the whole test split
# of a toy build (a few 1e6 cycles), ~130 frames of vgg16-pruned at 224x224 on Pynq-Z2 (1.5e6 cycles/frame)
RTLSIM_BUDGET_CYCLES = 2e8


def _test_count(f: Flow, n_split: int) -> int:
    """Test images through rtlsim: ``n_test`` if given, else the whole split within RTLSIM_BUDGET_CYCLES."""
    if f.cfg.n_test:
        return min(f.cfg.n_test, n_split)
    cap = min(n_split, f.cfg.row.rtlsim_frames or n_split)  # unpruned rows: a few frames (graph_accuracy)
    cycles = ((read_json(f.path("estimates.json")) or {}).get("total") or {}).get("cycles_per_frame")
    if not cycles:
        return cap
    return max(1, min(cap, int(RTLSIM_BUDGET_CYCLES // cycles)))


# Verilator speed measured on vgg16-pruned 224x224 on Pynq-Z2 (benchmarks/results/vgg16-pruned-224-Pynq-Z2.json:
# 306,343 cycles/s, 2 shared cores) and the frames a first rtlsim of a build simulates before the test frames:
# FIFO sizing (fpga_flow.sim.rtlsim.size_fifos) runs 2 frames, then up to 4 capped trials of 2 frames each
RTLSIM_CYCLES_PER_S = 3e5
SIZING_FRAMES = 10
# rows whose hardware accuracy comes from the hardware graph skip rtlsim when it would run longer than this
# (vgg16-quantized 224x224 on Pynq-Z2: 1.07e9 cycles/frame, DRAM-bound external weights: ~11 h of rtlsim)
RTLSIM_MAX_S = 3600.0


def rtlsim_seconds(f: Flow, frames: int) -> float | None:
    """Estimated Verilator wall time of ``frames`` test frames (+ FIFO sizing, + the one-frame benchmark)."""
    from fpga_flow.codegen import saved_fifo_depths

    cycles = ((read_json(f.path("estimates.json")) or {}).get("total") or {}).get("cycles_per_frame")
    if not cycles:
        return None
    sizing = 0 if saved_fifo_depths(f.cfg.bdir) is not None else SIZING_FRAMES
    return float(cycles) * (frames + 1 + sizing) / RTLSIM_CYCLES_PER_S


def graph_accuracy(f: Flow) -> bool:
    """Whether the hardware accuracy comes from the compiled hardware graph on the whole test split (rows
    whose frames simulate slowly: rtlsim checks it bit for bit on the first frames), not from rtlsim."""
    return bool(f.cfg.row.rtlsim_frames) and not f.cfg.n_test


def _whole_test_split(f: Flow):
    import numpy as np

    xs, ys = zip(*((x.numpy(), np.asarray(y)) for x, y in f.loaders(batch_size=64)["test"]))
    return np.concatenate(xs), np.concatenate(ys)


def _test_set(f: Flow):
    """The first test images (float NCHW) and their labels, and the size of the test split."""
    import numpy as np

    test = f.loaders(batch_size=64)["test"]
    n_split = len(test.dataset)
    n = _test_count(f, n_split)
    xs, ys = [], []
    for x, y in test:
        xs.append(x.numpy())
        ys.append(np.asarray(y))
        if sum(len(a) for a in xs) >= n:
            break
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n], n_split


def st_rtlsim(f: Flow) -> None:
    """Run the test images through Verilator, check them against the dataflow graph, save the figures."""
    import numpy as np

    from fpga_flow.runtime import Accelerator
    from fpga_flow.runtime.bench import bench_accelerator

    c = f.cfg
    x, y, n_split = _test_set(f)
    whole = graph_accuracy(f)
    secs = rtlsim_seconds(f, len(x))
    if whole and secs is not None and secs > RTLSIM_MAX_S:
        _graph_only(f, x, y, n_split, secs)
    f.note(f"{len(x)} of {n_split} test images through rtlsim"
           + ("" if len(x) == n_split else " (the hardware accuracy: the compiled hardware graph on all of them)"
              if whole else " (the rest would exceed the simulation budget; --n-test sets the count)"))
    with Accelerator("rtlsim", c.bdir, board=c.board) as acc:
        res = acc.execute(x)
        if whole:
            ref = _graph_outputs(f, acc, n_split)[:len(x)].reshape(res.raw.shape)
        else:
            ref = _dataflow_reference(f, acc, x)
        if ref is not None and not np.array_equal(ref, res.raw):
            bad = int(np.argmax([not np.array_equal(a, b) for a, b in zip(ref, res.raw)]))
            raise FlowError(f"{c.bdir}: rtlsim output of test image {bad} differs from dataflow.onnx execution")
        f.note("rtlsim bit-exact vs dataflow.onnx on %d images" % len(x) if ref is not None
               else "dataflow.onnx reference not available: rtlsim outputs not cross-checked")
        r = bench_accelerator(acc, model=c.model, board=c.board, images=x[:1])
    r.save(c.bdir)
    f.path("sim").mkdir(exist_ok=True)
    f.note(f"rtlsim: {r.fps.median:.2f} FPS at the board clock ({r.details.get('cycles_per_frame')} cycles/frame)")
    np.save(f.path("sim/test_inputs.npy"), x)
    np.save(f.path("sim/test_labels.npy"), y)
    np.save(f.path("sim/test_outputs.npy"), res.raw)
    np.save(f.path("sim/test_pred.npy"), res.pred)
    write_json(f.path("sim/test_set.json"), {"images": int(len(x)), "test_split": int(n_split)})


def _graph_outputs(f: Flow, acc, n_split: int):
    """Integer outputs of the compiled hardware graph on the whole test split (saved with their predictions
    and labels in sim/graph_*.npy; reused while newer than dataflow.onnx)."""
    import numpy as np

    out = f.path("sim/graph_outputs.npy")
    if out.exists() and out.stat().st_mtime >= f.path("dataflow.onnx").stat().st_mtime:
        return np.load(out)
    x_all, y_all = _whole_test_split(f)
    t0 = time.perf_counter()
    raw = _dataflow_reference(f, acc, x_all)
    if raw is None:
        raise FlowError(f"{f.cfg.bdir}: the hardware graph cannot be executed (fpga_flow.sim.rtlsim): pass "
                        f"--n-test {n_split} to measure the hardware accuracy by rtlsim")
    f.note(f"compiled hardware graph (dataflow.onnx) on all {len(x_all)} test images in "
           f"{time.perf_counter() - t0:.0f} s")
    f.path("sim").mkdir(exist_ok=True)
    np.save(f.path("sim/graph_pred.npy"), acc.spec.predictions(raw.reshape((len(raw), *acc.spec.output.shape[1:]))))
    np.save(f.path("sim/graph_labels.npy"), y_all)
    np.save(out, raw)
    return raw


def _duration(secs: float) -> str:
    return f"{secs / 3600:.1f} h" if secs >= 3600 else f"{secs / 60:.0f} min"


def _graph_only(f: Flow, x, y, n_split: int, secs: float) -> None:
    """rtlsim would take hours: the hardware graph's outputs become the deploy folder's expected outputs,
    and the stage is reported skipped (a re-run tries again; --n-test N runs N frames regardless)."""
    import numpy as np

    from fpga_flow.runtime import Accelerator

    with Accelerator("rtlsim", f.cfg.bdir, board=f.cfg.board) as acc:
        raw = _graph_outputs(f, acc, n_split)[:len(x)]
        raw = raw.reshape((len(raw), *acc.spec.output.shape[1:]))
        pred = acc.spec.predictions(raw)
    for name, arr in (("inputs", x), ("labels", y), ("outputs", raw), ("pred", pred)):
        np.save(f.path(f"sim/test_{name}.npy"), arr)
    write_json(f.path("sim/test_set.json"), {"images": 0, "test_split": int(n_split), "graph_images": int(n_split)})
    raise StageSkipped(f"rtlsim not run: {len(x)} frame(s) + FIFO sizing would take ~{_duration(secs)} here "
                       f"(estimate: {(read_json(f.path('estimates.json')) or {})['total']['cycles_per_frame']:.3g} "
                       f"cycles/frame at {RTLSIM_CYCLES_PER_S:.0e} simulated cycles/s); hardware accuracy from the "
                       f"compiled hardware graph on all {n_split} test images; `--n-test N` simulates N frames "
                       "regardless")


def _dataflow_reference(f: Flow, acc, x):
    """Integer outputs of ``dataflow.onnx`` by the hardware layers' numpy semantics (the compiler's view)."""
    p = f.path("dataflow.onnx")
    try:
        from fpga_flow.sim.rtlsim import execute_hw_graph
    except ImportError:
        return None
    from qonnx.core.modelwrapper import ModelWrapper

    return execute_hw_graph(ModelWrapper(str(p)), acc.spec.quantize_input(acc.prepare(x)))


def st_metrics(f: Flow) -> None:
    """Accuracy of float / pruned / quantized / hardware models (the report's accuracy table)."""
    import numpy as np

    from fpga_flow.data import metrics as M
    from fpga_flow.models import load_checkpoint

    def pick(d: dict, prefix: str = "") -> dict:
        keys = ("balanced_accuracy", "accuracy", "iou", "dice")
        return {k: float(d[prefix + k]) for k in keys if isinstance(d.get(prefix + k), (int, float))}

    n_split = (read_json(f.path("sim/test_set.json")) or {}).get("test_split")
    split = f"test split ({n_split} images)" if n_split else "test split"
    out = {"float": pick(load_checkpoint(f.path("checkpoints/float.pt"))[1]["metrics"], "test_") | {"note": split},
           "pruned": pick(load_checkpoint(f.path("checkpoints/pruned.pt"))[1]["metrics"]) | {"note": split}}
    q = read_json(f.path("quant/quant_summary.json")) or {}
    qm = [v for k, v in (q.get("metrics") or {}).items() if k != "float"]
    if qm:
        out["quantized"] = pick(qm[-1]) | {"note": split}
    y, pred = np.load(f.path("sim/test_labels.npy")), np.load(f.path("sim/test_pred.npy"))
    n_rtlsim = int((read_json(f.path("sim/test_set.json")) or {}).get("images", len(y)))
    graph = f.path("sim/graph_pred.npy").exists() and graph_accuracy(f)
    if graph:
        y, pred = np.load(f.path("sim/graph_labels.npy")), np.load(f.path("sim/graph_pred.npy"))
    hw = ({"balanced_accuracy": M.balanced_accuracy(y, pred), "accuracy": M.accuracy(y, pred)} if f.cfg.task == "cls"
          else {"iou": M.iou(pred, y), "dice": M.dice(pred, y)})
    which = (f"all {len(y)} test images" if n_split == len(y)
             else f"first {len(y)} of {n_split} test images" if n_split else f"first {len(y)} test images")
    how = (f"compiled hardware graph (dataflow.onnx, the hardware layers' integer semantics), {which}; "
           + (f"rtlsim bit-exact to it on the first {n_rtlsim}" if n_rtlsim else "rtlsim not run (too slow)")
           if graph else f"rtlsim, {which}")
    out["hardware"] = ({k: float(v) for k, v in hw.items()} | {"note": how, "images": int(len(y))}
                       | ({"rtlsim_images": int(n_rtlsim), "source": "hardware graph"} if graph else {}))
    from fpga_flow import stage_accuracy

    ledger = stage_accuracy.read(f.cfg.bdir)
    if ledger.get("warnings"):
        out["warnings"] = list(ledger["warnings"])
    write_json(f.path("metrics.json"), out)
    f.note(f"hardware ({'hardware graph' if graph else 'rtlsim'}) "
           f"{', '.join(f'{k} {100 * v:.2f} %' for k, v in hw.items())} on {which}"
           + ((f" (rtlsim bit-exact on the first {n_rtlsim})" if n_rtlsim else " (rtlsim not run)") if graph else ""))


