"""A row source that writes a small but real build folder (float vgg16/segnet at 16x16, synthetic data,
rtlsim and estimate figures, hardware predictions) without training or simulating: the table4 machinery
(CPU rows, accuracies, speedups, resume, failures, rendering) runs on it for real in seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fpga_flow.errors import FlowError

HW, N_TEST, N_IMAGES = 32, 6, 40
CLOCK = {"Pynq-Z2": 100.0, "ZCU104": 200.0}
BUDGET = {"Pynq-Z2": {"lut": 53200, "ff": 106400, "dsp": 220, "bram18": 280, "uram": 0},
          "ZCU104": {"lut": 230400, "ff": 460800, "dsp": 1728, "bram18": 624, "uram": 96}}
CYCLES = 20000  # per frame: rtlsim FPS = clock / CYCLES


def _w(p: Path, d) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(d))


@dataclass
class FixtureSource:
    root: Path
    fail: set = field(default_factory=set)  # row names whose build raises
    settings: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)

    def build(self, row, board, log) -> Path:
        from fpga_flow.data import get_loaders, synth
        from fpga_flow.models import build, save_checkpoint
        from fpga_flow.runtime.backends.cpu import export_onnx

        self.calls.append((row.name, board))
        if row.name in self.fail:
            raise FlowError(f"build/{row.name}-{board}/model.qonnx.onnx: node Conv_3 has no hardware layer")
        bdir = self.root / f"{row.name}-{board}"
        task = row.task
        cfg = {"model": row.name, "board": board, "build_root": str(self.root), "n_images": N_IMAGES,
               "image_size": HW, "seed": 0, "data": None, "wbits": 4, "abits": 4}
        data = self.root / "data" / f"synth-{task}-{HW}-n{N_IMAGES}-s0"
        if not data.exists():
            synth.generate(data, task, n=N_IMAGES, seed=0, size=32)
        test = get_loaders(data, task, image_size=HW, batch_size=N_TEST, seed=0)["test"]
        x, y = next(iter(test))
        x, y = x.numpy()[:N_TEST], np.asarray(y)[:N_TEST]
        torch.manual_seed(0)
        mcfg = {"in_size": HW, "width": 0.0625} | ({"num_classes": 8} if task == "cls" else {})
        model = build(row.name.removesuffix("-pruned"), **mcfg).eval()
        save_checkpoint(bdir / "model.pt", model, row.name.removesuffix("-pruned"), mcfg)
        export_onnx(model, bdir / "model.onnx", (1, 3, HW, HW))
        with torch.no_grad():
            out = model(torch.from_numpy(x)).numpy()
        pred = out.argmax(1)  # the "hardware" agrees with the float model except on one image
        pred[0] = (pred[0] + 1) % out.shape[1]
        _w(bdir / "flow.json", {"model": row.name, "board": board, "task": task, "config": cfg})
        (bdir / "sim").mkdir(parents=True, exist_ok=True)
        np.save(bdir / "sim" / "test_inputs.npy", x)
        np.save(bdir / "sim" / "test_labels.npy", y)
        np.save(bdir / "sim" / "test_pred.npy", pred)
        clk = CLOCK[board]
        fps = clk * 1e6 / CYCLES
        _w(bdir / "bench" / "rtlsim.json", {"model": row.name, "board": board, "backend": "rtlsim", "source": "rtlsim",
                                             "device": "Verilator", "latency_ms": {"median": 2e3 / fps, "min": 2e3 / fps, "max": 2e3 / fps},
                                             "fps": {"median": fps, "min": fps, "max": fps},
                                             "details": {"clock_mhz": clk, "cycles_per_frame": CYCLES}})
        _w(bdir / "estimates.json", {"clock_mhz": clk, "total": {"max_cycles": CYCLES, "critical_path_cycles": 2 * CYCLES,
                                                                 "lut": 20000, "ff": 30000, "dsp": 100, "bram18": 200,
                                                                 "fits": True, "budget": BUDGET[board]}})
        _w(bdir / "synth" / "report.json", {"total": {"lut": 21000, "ff": 25000, "dsp": 110, "bram18": 190, "uram": 0},
                                            "budget": BUDGET[board], "fits": True})
        return bdir
