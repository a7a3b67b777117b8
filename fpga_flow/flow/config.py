"""The flow's settings: ``FlowConfig`` (one build), the settings each stage depends on, and how a re-run
takes over the settings its build folder was made with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpga_flow.errors import FlowError
from fpga_flow.runtime.buildinfo import read_json


def row_tasks() -> dict[str, str]:
    """The task of every name the flow builds: the Table 4 rows and their aliases (from the zoo registry)."""
    from fpga_flow.models.registry import ALIASES, rows, spec

    return {n: spec(n).task for n in [*rows(), *ALIASES]}


TASK = row_tasks()


@dataclass
class FlowConfig:
    model: str = "vgg16-pruned"
    board: str = "Pynq-Z2"
    build_root: Path = Path("build")
    data: Path | None = None  # an ISIC root; None -> the synthetic set
    n_images: int = 800  # synthetic set size: 120 test images (240 gave 36)
    image_size: int = 224  # the design's input (square): fine-tuning, QAT, test metrics and hardware run at it
    train_size: int | None = 32  # float training and SeReNe run at this input (affordable on a CPU), then the
                                 # physically smaller network is fine-tuned at image_size; None: image_size
    # epochs at image_size after training/pruning at train_size. A pruned (BN-folded) vgg16-hcr trained at 32x32
    # fell to chance at 224x224 with 2 epochs at 1e-4; with BatchNorm restored: 79.2 % (best of 8 at 1e-3)
    finetune_epochs: int = 8
    finetune_lr: float = 1e-3
    width: float = 1.0  # width multiplier of the base model
    # full-width VGG16 on 800 images at 32x32: 4 epochs 40.0 %, 30 epochs 85.8 % test balanced accuracy (241 s)
    epochs: int = 30
    prune_epochs: int = 20  # SeReNe epochs: a pruning step after each, lr and lambda cosine-annealed to 0
    prune_lam: float | None = 0.15  # SeReNe lambda (the recipe's 0.05 is for 45-epoch runs); None: the recipe's
    prune_lr: float = 3e-3
    # QAT that holds the pruned float model's accuracy at W4A4 (demo vgg16-pruned, test balanced accuracy: float
    # 92.5 %; per-tensor weight scales, 1 epoch at 1e-4: 63.3 %; 3 epochs at 1e-3: 79.2 %; per-channel: 3 epochs
    # 88.3 %, 10 epochs 95.0 %): per-output-channel weight scales (pruned+BN-fused layers have channels of
    # very different ranges), 10 epochs, the calibrated model kept when no epoch beats it. Adam 1e-3 is the
    # demo's (32x32); at 224x224 it diverged on vgg16-hcr (calibrated 60.8 % kept, loss stuck at chance) where
    # 1e-4 reached 85.8 % in 2 epochs (fine-tuned float 79.2 %, 120 test images): the rows' default
    qat_epochs: int = 10
    qat_lr: float = 1e-4
    qat_size: int | None = None  # input side of QAT; None: the row's recipe (unpruned rows: the low size,
    # the quantized network then runs at image_size untrained there; pruned rows: image_size); 0: image_size
    wbits: int | None = None  # None: the row's bit widths (fpga_flow.models.registry)
    abits: int | None = None
    target_fps: float | None = None
    checkpoint: Path | None = None  # a trained float base-model checkpoint to reuse instead of training
    prune_loss_bound: float | None = None  # allowed val-metric drop in points; None: the model's pruning recipe
    n_test: int | None = None  # test images through rtlsim (deploy test data + hardware accuracy); None: the
    # whole test split, as far as RTLSIM_BUDGET_CYCLES allows
    bench_repeats: int = 30  # timed runs per window; fewer are flagged noisy (runtime.timing)
    seed: int = 0

    def summary(self) -> str:
        """What this run builds, in one paragraph: size, width, bits, data source, epochs."""
        data = (f"ISIC data at {self.data}" if self.data is not None
                else f"synthetic ISIC set, {self.n_images} images ({self.data_root})")
        bits = self.row.bits
        low = (f" (float training and SeReNe at {self.low_size}×{self.low_size}, then fine-tuned)"
               if self.low_size != self.image_size else "")
        if self.qat_side != self.image_size:
            low = f" (float training and QAT at {self.qat_side}×{self.qat_side}: see the recipe)"
        return (f"{self.model} on {self.board}: input {self.image_size}×{self.image_size}{low}, width ×{self.width:g}, "
                f"W{self.wbits or bits.wbits}A{self.abits or bits.abits} (first/last layer W{bits.first_wbits}/"
                f"W{bits.last_wbits}); data: {data}; "
                + self._training()
                + "; target "
                + (f"{self.target_fps:g} FPS" if self.target_fps else "FPS: the fastest folding that fits")
                + "; hardware accuracy on " + self._hardware_accuracy()
                + f"; folder {self.bdir}" + self._recipe())

    def _training(self) -> str:
        """Where the weights come from: the row's stored checkpoints (a plain run on the synthetic set), a
        given float checkpoint, or training."""
        from fpga_flow.models.quant_store import quant_row_checkpoint
        from fpga_flow.models.store import row_checkpoint

        stored = row_checkpoint(self.model) if self.checkpoint is None and self.data is None else None
        why = None
        if stored is not None:
            from fpga_flow.models.provenance import read_provenance

            made = (read_provenance(stored) or {}).get("flow_config", {})
            why = store_mismatch(self, made.get("image_size"), made.get("width"))
        if stored is not None and why is None:
            quant = quant_row_checkpoint(self.model)
            return (f"weights from the store: {stored}" + (f" and {quant.name}" if quant else "")
                    + " (used when their recorded settings are this run's, said below; else "
                    + ("SeReNe and " if self.row.pruned else "") + f"QAT {self.qat_epochs} epoch(s) run)")
        return ((f"float model from {self.checkpoint}" if self.checkpoint else f"training {self.epochs} epochs")
                + (f", SeReNe {self.prune_epochs} epochs" if self.row.pruned else ", unpruned")
                + f", QAT {self.qat_epochs} epoch(s)"
                + (f" (the stored {stored.name} {why}: not used)" if why else ""))

    def _hardware_accuracy(self) -> str:
        if self.row.rtlsim_frames and not self.n_test:
            return (f"the whole test split by the compiled hardware graph, rtlsim on its first "
                    f"{self.row.rtlsim_frames} frames (--n-test more)")
        return f"{self.n_test} test images" if self.n_test else "the whole test split"

    def _recipe(self) -> str:
        """The unpruned rows' low-resolution QAT, said in full (it decides what the accuracy means)."""
        if self.qat_side == self.image_size:
            return ""
        return (f". Recipe: float training and QAT at {self.qat_side}×{self.qat_side}, then the quantized network "
                f"runs at {self.image_size}×{self.image_size} with the same integer weights (no training at "
                f"{self.image_size}: an epoch there has {(self.image_size / self.qat_side) ** 2:.0f}× the MACs of one at "
                f"{self.qat_side}); its accuracy is measured at {self.image_size}×{self.image_size} on the held-out "
                f"test split (--qat-size {self.image_size}: fine-tuning and QAT at {self.image_size} instead, hours "
                "on a CPU)")

    @property
    def row(self):
        """The model's Table 4 row (fpga_flow.models.registry.ModelSpec); unknown names list the rows."""
        from fpga_flow.models.registry import canonical, rows, spec

        s = spec(self.model)
        if s.bits is None:
            raise FlowError(f"{self.model} is not a Table 4 row; the flow builds: {', '.join(rows())} "
                            f"(and vgg16-pruned = {canonical('vgg16-pruned')})")
        return s

    @property
    def task(self) -> str:
        return self.row.task

    @property
    def row_name(self) -> str:
        from fpga_flow.models.registry import canonical

        return canonical(self.model)

    @property
    def base(self) -> str:
        return self.row.arch

    @property
    def low_size(self) -> int:
        """Input size of float training and pruning."""
        return self.train_size or self.image_size

    @property
    def qat_side(self) -> int:
        """Input side of QAT (see ``qat_size``)."""
        if self.qat_size is not None:
            return self.qat_size or self.image_size
        return self.low_size if self.row.low_res_qat else self.image_size

    @property
    def bits(self):
        """The bit widths this build quantizes to (``RowBits``): the row's, with --wbits/--abits applied."""
        import dataclasses

        b = self.row.bits
        return dataclasses.replace(b, wbits=self.wbits or b.wbits, abits=self.abits or b.abits)

    def quant_spec(self):
        from fpga_flow.quant import QuantSpec

        b = self.bits
        return QuantSpec(wbits=b.wbits, abits=b.abits, first_wbits=b.first_wbits, last_wbits=b.last_wbits,
                         weight_scaling="channel")

    @property
    def bdir(self) -> Path:
        return Path(self.build_root) / f"{self.model}-{self.board}"

    @property
    def data_root(self) -> Path:
        if self.data is not None:
            return Path(self.data)
        return Path(self.build_root) / "data" / f"synth-{self.task}-{self.image_size}-n{self.n_images}-s{self.seed}"


# which settings each stage's outputs depend on (a change re-runs that stage and everything after it)
CONFIG_STAGE = (
    ("data", ("data", "n_images", "image_size", "seed")),
    ("train", ("width", "epochs", "checkpoint", "train_size")),
    ("prune", ("prune_epochs", "prune_loss_bound", "prune_lam", "prune_lr", "finetune_epochs", "finetune_lr")),
    ("quantize", ("wbits", "abits", "qat_epochs", "qat_lr", "qat_size")),
    ("build", ("target_fps",)),
    ("rtlsim", ("n_test",)),
    ("bench", ("bench_repeats",)),
)


def recorded_config(model: str, board: str, build_root: Path) -> dict:
    """The settings ``build_root/<model>-<board>/flow.json`` was made with ({} for a new folder)."""
    return (read_json(Path(build_root) / f"{model}-{board}" / "flow.json") or {}).get("config") or {}


def reused_settings(model: str, board: str, build_root: Path, **given) -> dict:
    """The recorded settings a run takes over (not given, and not the defaults)."""
    import dataclasses

    defaults = {f.name: f.default for f in dataclasses.fields(FlowConfig)}
    return {k: v for k, v in recorded_config(model, board, build_root).items()
            if k in defaults and k not in ("model", "board", "build_root") and given.get(k) is None
            and v != (str(defaults[k]) if isinstance(defaults[k], Path) else defaults[k])}


def resolve_config(model: str, board: str, build_root: Path, **given) -> FlowConfig:
    """Flow settings: the defaults, then those the build folder was made with (so a plain re-run resumes it),
    then the ones given on the command line (``None`` = not given)."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(FlowConfig)}
    recorded = recorded_config(model, board, build_root)
    cfg = FlowConfig(model=model, board=board, build_root=Path(build_root))
    for k, v in recorded.items():  # a recorded None is a setting too (the demo's train_size None: image_size)
        if k in fields and k not in ("model", "board", "build_root"):
            setattr(cfg, k, Path(v) if k in ("data", "checkpoint") and v is not None else v)
    for k, v in given.items():
        if v is not None:
            setattr(cfg, k, v)
    return cfg


def store_mismatch(c: FlowConfig, image_size: int | None, width: float | None) -> str | None:
    """Why a stored row checkpoint made at ``image_size`` and ``width`` is not this run's model, or None
    (unrecorded values are not held against it: the checkpoint's own checks follow when it is loaded)."""
    if image_size is not None and image_size != c.image_size:
        return f"is for input {image_size}, not {c.image_size}"
    if width is not None and abs(float(width) - c.width) > 1e-9:
        return f"is for width ×{float(width):g}, not ×{c.width:g}"
    return None
