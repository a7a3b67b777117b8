"""The reference Table 4, copied exactly from A. Bragagnolo, E. Tartaglione, G. Dalmaso, M. Grangetto, "A round-trip
journey in pruned artificial neural networks", which takes it from its reference [11] (J. Flich et al., ICIP 2022).

Shown beside our rows, never mixed into them: its speedups are against its own CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = ('Bragagnolo, Tartaglione, Dalmaso, Grangetto, "A round-trip journey in pruned artificial neural networks", '
         "Table 4")
SOURCE = ('J. Flich, L. Medina, I. Catalán, C. Hernández, A. Bragagnolo, F. Auzanneau, D. Briand, "Efficient inference '
          'of image-based neural network models in reconfigurable systems with pruning and quantization", IEEE ICIP '
          "2022, pp. 2491–2495, doi:10.1109/ICIP46576.2022.9897752")
SHORT = "Flich et al., ICIP 2022"  # the table's source, in a table cell
TABLE4_CAPTION = (f"Reference: {PAPER} (inference time, FPS, and speedup for ISIC classification and segmentation "
                  f"models for CPU and FPGA; full-size VGG16/SegNet at 224×224, speedups against the paper's own CPU). "
                  f"Its source: {SOURCE}.")


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
