"""CPU-vs-FPGA report: Table-4-style tables, accuracy, resources and plots from build folders."""

from __future__ import annotations

__all__ = ["write_report"]


def write_report(build_root="build", out_dir=None):
    from fpga_flow.report.render import write_report as _w

    return _w(build_root, out_dir)
