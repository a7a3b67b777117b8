"""The reference Table 4 (source [11] in ../shared/reference/000_2fdccf34c1224cd4.txt), copied exactly.

Shown beside our rows, never mixed into them: its speedups are against its own CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLE4_CAPTION = ("Reference Table 4: inference time, FPS, and speedup for ISIC classification and segmentation "
                  "models for CPU and FPGA. Source: [11].")


@dataclass(frozen=True)
class RefRow:
    task: str
    model: str
    device: str
    time_ms: str  # kept as printed in the paper
    fps: str
    speedup: str

    @property
    def fps_value(self) -> float:
        return float(self.fps)

    @property
    def speedup_value(self) -> float | None:
        return None if self.speedup == "-" else float(self.speedup.rstrip("×"))


TABLE4: tuple[RefRow, ...] = (
    RefRow("Classification", "VGG16", "CPU", "1430.29", "0.70", "-"),
    RefRow("Classification", "VGG16", "FPGA", "552.28", "1.81", "2.59×"),
    RefRow("Classification", "VGG16-Quantized", "FPGA", "229.93", "4.35", "6.22×"),
    RefRow("Classification", "VGG16-HA", "FPGA", "99.33", "10.07", "14.40×"),
    RefRow("Classification", "VGG16-HCR", "FPGA", "15.09", "66.25", "94.76×"),
    RefRow("Segmentation", "SegNet", "CPU", "3165.97", "0.32", "-"),
    RefRow("Segmentation", "SegNet", "FPGA", "757.22", "1.32", "4.18×"),
    RefRow("Segmentation", "SegNet-Pruned", "FPGA", "282.23", "3.54", "11.22×"),
)


def reference_rows(task: str | None = None) -> list[RefRow]:
    """Rows of one task (``cls``/``seg`` or the paper's words), or all."""
    if task is None:
        return list(TABLE4)
    word = {"cls": "Classification", "seg": "Segmentation"}.get(task, task)
    return [r for r in TABLE4 if r.task == word]
