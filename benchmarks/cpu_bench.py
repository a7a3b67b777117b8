"""Every CPU runtime of the driver on one zoo model, batch 1, in one run: the CPU side of Table 4.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/cpu_bench.py --model vgg16-pruned --image-size 224 \
        --threads 2 --repeats 30 --out benchmarks/results/cpu-vgg16-pruned-224.json

Each runtime is timed by the runtime's own bench (warm-up, windows of --repeats runs until one is
stable, else flagged noisy). Its numeric format is read back from the runtime. Its outputs on test
images of the synthetic ISIC set are compared with PyTorch fp32: top-1 agreement and the largest
output error. The int8 models are calibrated on training images of the same set. Accuracy against
labels is meaningful only with trained weights (``weights`` says which the zoo gave).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu_flags() -> list[str]:
    try:
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f.startswith(("avx512_vnni", "avx512_bf16", "amx", "avx_vnni")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vgg16-pruned")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--n-calib", type=int, default=32, help="training images for int8 calibration")
    ap.add_argument("--n-test", type=int, default=16, help="test images for the agreement with PyTorch fp32")
    ap.add_argument("--backends", default=None, help="comma-separated subset of the CPU backends")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cpu-vgg16-pruned-224.json")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")

    import torch

    from fpga_flow.data import get_loaders, synth
    from fpga_flow.models import build, default_checkpoint
    from fpga_flow.runtime.backends.cpu import cpu_name, export_onnx
    from fpga_flow.runtime.bench import bench_accelerator
    from fpga_flow.runtime.driver import CPU_BACKENDS, Accelerator
    from fpga_flow.errors import FlowError

    work = REPO / "build" / "bench" / f"cpu-{a.model}-{a.image_size}"
    data = work / "data"
    if not data.exists():
        synth.generate(data, "cls", n=max(96, 2 * (a.n_calib + a.n_test)), seed=0, size=a.image_size)
    loaders = get_loaders(data, "cls", image_size=a.image_size, batch_size=a.n_calib, seed=0)
    calib = next(iter(loaders["train"]))[0].numpy()[: a.n_calib]
    test_x = np.concatenate([x.numpy() for x, _ in loaders["test"]])[: a.n_test]
    test_y = np.concatenate([np.asarray(y) for _, y in loaders["test"]])[: a.n_test]

    trained = default_checkpoint(a.model).is_file()
    torch.manual_seed(0)
    model = build(a.model, in_size=a.image_size).eval()
    onnx = export_onnx(model, work / "model.onnx", (1, 3, a.image_size, a.image_size))
    with torch.no_grad():
        ref = model(torch.from_numpy(test_x)).numpy()

    names = a.backends.split(",") if a.backends else list(CPU_BACKENDS)
    rows = []
    for name in names:
        t0 = time.perf_counter()
        opts = {"model": model} if name == "cpu-torch" else {"onnx": onnx}
        if name.endswith("-int8"):
            opts["calibration"] = calib
        try:
            with Accelerator(name, work, threads=a.threads, input_shape=(3, a.image_size, a.image_size), **opts) as acc:
                scores = acc.execute(test_x).scores
                r = bench_accelerator(acc, model=a.model, board="cpu", warmup=3, repeats=a.repeats)
        except FlowError as err:
            rows.append({"backend": name, "error": str(err)})
            print(f"{name}: {err}", file=sys.stderr, flush=True)
            continue
        row = {"backend": name, "runtime": r.runtime, "numeric_format": r.numeric_format, "threads": r.threads,
               "source": r.source, "latency_ms": vars(r.latency_ms), "fps": vars(r.fps), "runs": r.repeats,
               "warmup": r.warmup, "stability": r.stability,
               "agreement_with_pytorch_fp32": {
                   "top1": float(np.mean(scores.argmax(1) == ref.argmax(1))),
                   "max_abs_error_over_max_output": float(np.abs(scores - ref).max() / np.abs(ref).max()),
                   "n_images": len(test_x)},
               "accuracy_vs_labels": float(np.mean(scores.argmax(1) == test_y)),
               "wall_s": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(f"{name:22s} {row['numeric_format'][:24]:24s} median {r.latency_ms.median:8.2f} ms  min "
              f"{r.latency_ms.min:8.2f}  max {r.latency_ms.max:8.2f}  {r.fps.median:8.1f} FPS  "
              f"{'NOISY' if r.noisy else 'stable'}", file=sys.stderr, flush=True)
    ok = [r for r in rows if "fps" in r]
    best = max(ok, key=lambda r: r["fps"]["median"]) if ok else None
    rec = {"model": a.model, "image_size": a.image_size, "weights": "trained" if trained else "random",
           "command": "PYTHONPATH=$PWD .venv/bin/python benchmarks/cpu_bench.py " + " ".join(sys.argv[1:]),
           "machine": {"cpu": cpu_name(), "isa": cpu_flags(), "threads_used": a.threads,
                       "load_average_after": list(os.getloadavg()),
                       "note": "shared 2-core machine, other jobs running: see each row's stability"},
           "test_images": f"{len(test_x)} synthetic ISIC test images; int8 calibrated on {len(calib)} training images",
           "rows": rows, "fastest": best and {"backend": best["backend"], "fps": best["fps"]["median"]}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(rec, indent=1) + "\n")
    print(a.out)


if __name__ == "__main__":
    main()
