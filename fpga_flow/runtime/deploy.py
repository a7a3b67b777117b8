"""The deploy folder ``build/<model>-<board>/deploy/``: everything the board needs, and its checks.

Layout::

    deploy/
      README.md            for the board user: what is missing, which PYNQ image, what to copy where
      deploy.json          manifest: model, board, task, clock, test images, class names, files
      io.json              host side of the accelerator (copied from the build)
      bitfile/accel.bit, accel.hwh     when Vivado built them
      driver/fpga_flow/... the runtime's numpy-only driver (+ the shared packer), importable on a board
      weights/             streamed (external) weights, when the build has any
      test_data/inputs.npy (float NCHW), expected.npy (integer NHWC), expected_pred.npy
      model.onnx           float model for the board-CPU baseline (when present)
      notebooks/pynq_<task>.ipynb
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.buildinfo import DEPLOY_DIR, IO_JSON, read_json, write_json
from fpga_flow.runtime.iospec import IOSpec, load_iospec

PKG = Path(__file__).resolve().parents[1]  # fpga_flow/
REPO = PKG.parent
NOTEBOOK = {"cls": "pynq_classification.ipynb", "seg": "pynq_segmentation.ipynb"}
# the numpy-only files a board needs, relative to fpga_flow/
DRIVER_FILES = ("errors.py", "runtime/deploy.py", "runtime/buildinfo.py", "runtime/notebook_util.py", "runtime/iospec.py", "runtime/images.py", "runtime/driver.py",
                "runtime/backends/__init__.py", "runtime/backends/base.py", "runtime/backends/pynq_board.py",
                "runtime/backends/cpu.py", "runtime/backends/openvino_cpu.py", "runtime/bench.py", "runtime/timing.py",
                "sim/packing.py",
                "compiler/hostio.py", "compiler/transforms/chain.py")
REQUIRED = ("deploy.json", "io.json", "test_data/inputs.npy", "test_data/expected.npy", "driver/fpga_flow/runtime/driver.py")
BOARD_REQUIRED = ("bitfile/accel.bit", "bitfile/accel.hwh")


@dataclass
class Deploy:
    folder: Path
    manifest: dict
    spec: IOSpec

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def has_bitfile(self) -> bool:
        return all((self.folder / f).is_file() for f in BOARD_REQUIRED)

    def test_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        td = self.folder / "test_data"
        pred = td / "expected_pred.npy"
        return (np.load(td / "inputs.npy"), np.load(td / "expected.npy"), np.load(pred) if pred.is_file() else None)


def _copy_driver(dst: Path) -> list[str]:
    copied, missing = [], []
    for rel in DRIVER_FILES:
        src = PKG / rel
        if not src.is_file():
            missing.append(rel)
            continue
        target = dst / "fpga_flow" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        copied.append(rel)
    for pkg in ("", "runtime", "sim", "compiler", "compiler/transforms"):  # light __init__ files: no torch on a board
        init = dst / "fpga_flow" / pkg / "__init__.py"
        if not init.exists() or pkg != "runtime":
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text('"""fpga_flow driver copy for the board (numpy only)."""\n')
    return missing


def make_deploy(build_dir: str | Path, *, inputs: np.ndarray, expected: np.ndarray, expected_pred: np.ndarray | None,
                model: str, board: str, bitfile: Path | None = None, hwh: Path | None = None,
                float_onnx: Path | None = None, extra: dict | None = None) -> Path:
    """Assemble ``build_dir/deploy/``. ``expected`` is the accelerator's integer NHWC output for ``inputs``."""
    build_dir = Path(build_dir)
    spec = load_iospec(build_dir / IO_JSON)
    out = build_dir / DEPLOY_DIR
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(build_dir / IO_JSON, out / IO_JSON)
    td = out / "test_data"
    td.mkdir(exist_ok=True)
    np.save(td / "inputs.npy", np.asarray(inputs, np.float32))
    np.save(td / "expected.npy", np.asarray(expected, np.int64))
    if expected_pred is not None:
        np.save(td / "expected_pred.npy", np.asarray(expected_pred, np.int64))
    missing = _copy_driver(out / "driver")
    files = {"io": IO_JSON, "inputs": "test_data/inputs.npy", "expected": "test_data/expected.npy"}
    for src, name in ((bitfile, "accel.bit"), (hwh, "accel.hwh")):
        if src is not None and Path(src).is_file():
            (out / "bitfile").mkdir(exist_ok=True)
            if Path(src).resolve() != (out / "bitfile" / name).resolve():  # Vivado may write it in place
                shutil.copy2(src, out / "bitfile" / name)
            files[name.split(".")[1]] = f"bitfile/{name}"
    wdir = build_dir / "weights"
    if wdir.is_dir() and any(wdir.iterdir()):
        shutil.copytree(wdir, out / "weights", dirs_exist_ok=True)
        files["weights"] = "weights/"
    if float_onnx is not None and Path(float_onnx).is_file():
        shutil.copy2(float_onnx, out / "model.onnx")
        files["cpu_model"] = "model.onnx"
    nb = REPO / "notebooks" / NOTEBOOK.get(spec.task, "")
    if nb.is_file():
        (out / "notebooks").mkdir(exist_ok=True)
        shutil.copy2(nb, out / "notebooks" / nb.name)
        files["notebook"] = f"notebooks/{nb.name}"
    manifest = {"model": model, "board": board, "task": spec.task, "clock_mhz": clock_mhz(build_dir, board, spec),
                "test_images": int(len(inputs)), "files": files, "driver_missing": missing, **(extra or {})}
    write_json(out / "deploy.json", manifest)
    from fpga_flow.runtime.deploy_readme import deploy_readme

    has_bit = all((out / f).is_file() for f in BOARD_REQUIRED)
    (out / "README.md").write_text(deploy_readme(manifest, has_bit, build_dir.name,
                                                 has_tcl=(build_dir / "vivado" / "build.tcl").is_file(),
                                                 build_root=_shown(build_dir.parent)))
    return out


def _shown(folder: Path) -> str:
    """A folder as the user would type it: relative to the current directory when under it."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


def clock_mhz(build_dir: Path, board: str, spec: IOSpec) -> float | None:
    """The fabric clock: io.json's, else the compiler's estimates.json, else the board YAML."""
    if spec.clock_mhz:
        return float(spec.clock_mhz)
    est = (read_json(build_dir / "estimates.json") or {}).get("clock_mhz")
    if est:
        return float(est)
    try:
        from fpga_flow.boards import load_board

        return float(load_board(board).clock_mhz)
    except (ImportError, FlowError):
        return None


_INFRA = ("axi_", "processing_system", "zynq_ultra_ps", "proc_sys_reset", "smartconnect", "xlconcat", "xlconstant",
          "xlslice", "util_", "clk_wiz")


def _hwh_stream_widths(hwh: Path) -> dict[str, int]:
    """TDATA widths of the accelerator's s_axis/m_axis ports in a Vivado .hwh (DMA and PS modules ignored)."""
    text = hwh.read_text(errors="replace")
    modules = re.findall(r'<MODULE\b[^>]*?MODTYPE="([^"]+)"[^>]*>(.*?)</MODULE>', text, flags=re.S)
    bodies = [body for modtype, body in modules if not modtype.lower().startswith(_INFRA)] if modules else [text]
    widths: dict[str, int] = {}
    for body in bodies:
        for m in re.finditer(r'<PORT\b[^>]*?NAME="([sm])_axis[^"]*_tdata"[^>]*?>', body, flags=re.I):
            tag = m.group(0)
            left, right = re.search(r'LEFT="(\d+)"', tag), re.search(r'RIGHT="(\d+)"', tag)
            if left and right:
                widths.setdefault(m.group(1).lower(), int(left.group(1)) - int(right.group(1)) + 1)
    return widths


def padded_word_bits(bits: int) -> int:
    return -(-bits // 8) * 8


def validate_deploy(folder: str | Path, *, need_bitfile: bool = False) -> Deploy:
    """Check a deploy folder: missing files and a bitfile that does not match io.json are clear errors."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FlowError(f"{folder}: deploy folder not found (run `fpga-flow bitstream` to create it)")
    needed = REQUIRED + (BOARD_REQUIRED if need_bitfile else ())
    missing = [f for f in needed if not (folder / f).is_file()]
    if missing and set(missing) <= set(BOARD_REQUIRED):
        raise FlowError(f"{folder}: no bitstream ({', '.join(missing)} missing; {folder / 'README.md'} says how to "
                        "build it); off the board run the notebook with backend = \"rtlsim\" (or \"cpu-onnxruntime\")")
    if missing:
        raise FlowError(f"{folder}: deploy folder incomplete, missing {', '.join(missing)}")
    manifest = read_json(folder / "deploy.json") or {}
    spec = load_iospec(folder / IO_JSON)
    hwh = folder / "bitfile" / "accel.hwh"
    if hwh.is_file():
        widths = _hwh_stream_widths(hwh)
        want = {"s": padded_word_bits(spec.input.word_bits), "m": padded_word_bits(spec.output.word_bits)}
        for side, w in widths.items():
            if w != want[side]:
                port = "input (s_axis)" if side == "s" else "output (m_axis)"
                raise FlowError(f"{hwh}: bitfile {port} stream is {w} bits but io.json expects {want[side]}: "
                                "bitfile and driver are from different builds")
    from fpga_flow.runtime.backends.pynq_board import packed_shape

    for side, t in (("input", spec.input), ("output", spec.output)):
        want = spec.raw.get(side, {}).get("packed_shape")
        if want is not None and tuple(want[1:]) != packed_shape(t, 1)[1:]:
            raise FlowError(f"{folder / IO_JSON}: {side} packed_shape {tuple(want)} disagrees with its folded shape "
                            f"and datatype {packed_shape(t, 1)}")
    inputs = np.load(folder / "test_data" / "inputs.npy", mmap_mode="r")
    c, h, w = spec.input.shape[3], spec.input.shape[1], spec.input.shape[2]
    if inputs.ndim != 4 or tuple(inputs.shape[1:]) != (c, h, w):
        raise FlowError(f"{folder / 'test_data/inputs.npy'}: shape {tuple(inputs.shape)} does not match io.json (N, {c}, {h}, {w})")
    return Deploy(folder, manifest, spec)
