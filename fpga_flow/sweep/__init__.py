"""Design-space sweeps on Ray: a grid of builds (model row x pruning x bits x board x target FPS x
folding), each a Ray task, content-keyed and resumable; Pareto table and plot of the results.

    from fpga_flow.sweep import SweepGrid, ModelRow, run_sweep
    res = run_sweep(SweepGrid([ModelRow("vgg16", 32, 1 / 16)], bits=[(4, 4), (2, 2)]), "build/sweep")

``fan_out`` (in :mod:`fpga_flow.sweep.cluster`) is what synthesis and FIFO sizing use to spread
their per-layer / per-trial work over Ray when it is running.
"""

from fpga_flow.sweep.grid import ModelRow, Point, QuantPoint, SweepGrid, parse_bits, parse_target
from fpga_flow.sweep.results import Constraints, pareto_front


def run_sweep(*args, **kwargs):
    """See :func:`fpga_flow.sweep.runner.run_sweep` (imported lazily: Ray loads only when a sweep runs)."""
    from fpga_flow.sweep.runner import run_sweep as _run

    return _run(*args, **kwargs)


__all__ = ["ModelRow", "Point", "QuantPoint", "SweepGrid", "Constraints", "pareto_front", "parse_bits",
           "parse_target", "run_sweep"]
