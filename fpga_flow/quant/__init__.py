"""Brevitas QAT + QONNX export."""
