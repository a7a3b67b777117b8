"""Yosys resources / Vivado bitstream of a build."""
