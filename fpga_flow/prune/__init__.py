"""Structured pruning: SeReNe sensitivity regularisation, magnitude / LOBSTER baselines, simplify
(BN fusion, bias propagation, dead-channel removal), hardware-aware rounding, Table-1 reports."""

from fpga_flow.prune.loop import METHODS, PruneConfig, PruneResult, candidate, prune
from fpga_flow.prune.masks import Masks, channel_norms, nonzero_params
from fpga_flow.prune.report import PruneReport, build_report, layer_macs, table1_markdown
from fpga_flow.prune.rounding import round_count, round_mask
from fpga_flow.prune.sensitivity import neuron_sensitivity, normalise
from fpga_flow.prune.simplify import SimplifyResult, fuse_bn, simplify

__all__ = [
    "METHODS", "Masks", "PruneConfig", "PruneReport", "PruneResult", "SimplifyResult", "build_report",
    "candidate", "channel_norms", "fuse_bn", "layer_macs", "neuron_sensitivity", "nonzero_params", "normalise",
    "prune", "round_count", "round_mask", "simplify", "table1_markdown",
]
