"""``deploy/README.md``: what a board user copies where, which PYNQ image, what is missing and what to do."""

from __future__ import annotations

from fpga_flow.synth.vivado import VIVADO_VERSION

# PYNQ images per board: PYNQ 4.0 dropped the Zynq-7000 boards (Pynq-Z1/Z2 stay on the 3.1 line)
PYNQ_IMAGE = {
    "Pynq-Z1": "PYNQ 3.1 (PYNQ 4.0 dropped Pynq-Z1)",
    "Pynq-Z2": "PYNQ 3.1 (PYNQ 4.0 dropped Pynq-Z2)",
    "ZCU104": "PYNQ 4.0",
    "KV260": "PYNQ 4.0 (Kria-PYNQ on the Kria Ubuntu image)",
    "Ultra96-V2": "the board's PYNQ image (3.x line, from Avnet)",
}
# 32-bit ARM cores: no onnxruntime wheel on PyPI
ARM32_BOARDS = ("Pynq-Z1", "Pynq-Z2")


def deploy_readme(manifest: dict, has_bitfile: bool, build_dir_name: str, has_tcl: bool = True,
                  build_root: str = "build") -> str:
    """``has_tcl``: ``vivado/build.tcl`` exists beside ``deploy/`` (the demo skips the stage that writes it)."""
    board, model, task = manifest.get("board", "?"), manifest.get("model", "?"), manifest.get("task", "?")
    nb = manifest.get("files", {}).get("notebook", f"notebooks/pynq_{'classification' if task == 'cls' else 'segmentation'}.ipynb")
    image = PYNQ_IMAGE.get(board, "a PYNQ image for this board")
    n = manifest.get("test_images")
    clock = manifest.get("clock_mhz")
    lines = [
        f"# {model} on {board}: deploy folder",
        "",
        f"Everything the board needs to run {model} ({'classification' if task == 'cls' else 'segmentation'}) "
        f"on the FPGA at {clock:g} MHz and compare it with the board's CPU." if clock else
        f"Everything the board needs to run {model} on the FPGA and compare it with the board's CPU.",
        "",
        "## Status",
        "",
    ]
    if has_bitfile:
        lines.append("- `bitfile/accel.bit` + `accel.hwh`: built by Vivado — ready for the board.")
    elif not has_tcl:
        lines += [
            "- **Missing: `bitfile/accel.bit` and `bitfile/accel.hwh`**, and the Vivado project `vivado/build.tcl` "
            "is not written yet (this build skipped the Yosys and Vivado stages, as `fpga-flow demo` does). Write it "
            "by resuming this build in the repository:",
            "",
            "  ```",
            f"  fpga-flow bitstream --model {model} --board {board} --build-root {build_root}",
            "  ```",
            "",
            "  which runs Yosys, builds the bitstream where vivado is on PATH and otherwise leaves "
            f"`{build_dir_name}/vivado/build.tcl` (Vivado {VIVADO_VERSION}, paths relative to its folder) for a "
            "machine that has it: `cd vivado && vivado -mode batch -source build.tcl` there.",
        ]
    else:
        lines += [
            "- **Missing: `bitfile/accel.bit` and `bitfile/accel.hwh`** — Vivado was not on PATH where this was built.",
            f"  To build them: copy the whole build folder `{build_dir_name}/` (it holds `rtl/` and `vivado/`) to a "
            f"machine with Vivado {VIVADO_VERSION}, then",
            "",
            "  ```",
            "  cd vivado && vivado -mode batch -source build.tcl",
            "  ```",
            "",
            "  (paths in `build.tcl` are relative to its folder); it writes `deploy/bitfile/accel.bit` and "
            "`accel.hwh` here. Or re-run `fpga-flow bitstream` there with vivado on PATH.",
        ]
    lines += [
        "- Everything else is here: `io.json` (stream formats), `driver/` (numpy-only driver), `test_data/` "
        f"({n if n else 'the'} test images with the expected accelerator outputs, bit-exact from rtlsim), "
        "`model.onnx` (float model for the CPU comparison), `notebooks/`.",
        "",
        "## On the board",
        "",
        f"1. Flash the SD card with **{image}** (pynq.io → boards).",
        f"2. Copy this folder to the board, e.g. `scp -r deploy xilinx@<board-ip>:~/jupyter_notebooks/{model}-{board}`.",
        f"3. Open `{nb}` in the board's Jupyter (http://<board-ip>:9090); keep `backend = \"pynq\"` and "
        "`deploy_dir = \"..\"` in the first cell and run all cells: it loads the overlay, runs the test images, "
        "checks them bit for bit, shows the predictions and measures FPS and the speedup over the board's CPU.",
        "",
        "## The CPU comparison on the board",
        "",
    ]
    if board in ARM32_BOARDS:
        lines.append(f"{board}'s ARM Cortex-A9 is 32-bit (armv7l): onnxruntime has no wheel for it, so the notebook "
                     "skips the CPU row (it says so) unless you build onnxruntime from source. The FPGA part needs "
                     "nothing beyond the PYNQ image (numpy, pynq).")
    else:
        lines.append("On the board's 64-bit ARM (aarch64): `sudo pip3 install onnxruntime` (the notebook times "
                     "`model.onnx` with it; without it the CPU row is skipped and the notebook says so).")
    lines += [
        "",
        "## Off the board",
        "",
        "The same notebook runs on the Verilator model of the same RTL (FPS from simulated cycles at the board "
        "clock) in this repository's venv, next to the build folder: open it with `jupyter notebook` and set "
        "`backend = \"rtlsim\"`, or execute it headless (from this folder):",
        "",
        "```",
        f"FPGA_FLOW_BACKEND=rtlsim jupyter nbconvert --to notebook --execute {nb}   # writes {nb.replace('.ipynb', '.nbconvert.ipynb')}",
        "python -c \"from fpga_flow.runtime.notebooks import run_deploy_notebook as r; r('<this folder>', 'rtlsim')\"",
        "```",
        "",
    ]
    return "\n".join(lines)
