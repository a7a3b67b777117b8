"""Plumbing shared by the fork/join layers (DuplicateStreams, AddStreams, StreamingConcat): more
than one input or output stream per node.

Port convention (hls/SPEC.md §Branches): the RTL module has one ``s_axis``/``m_axis`` pair whose
``tdata`` is the concatenation of the streams (stream 0 in the LSBs) and whose ``tvalid``/``tready``
have one bit per stream; the node's ONNX inputs/outputs are in the same order.
"""

from __future__ import annotations

import numpy as np

from .base import HWCustomOp


class MultiStreamOp(HWCustomOp):
    """Subclasses define ``execute_numpy(*inputs)`` returning one array (a join) or the input (a fork)."""

    def input_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(self.normal_input_shape())] * len(self.onnx_node.input)

    def in_folds(self) -> list[int]:
        return [self.in_fold()] * len(self.onnx_node.input)

    def input_datatypes(self):
        return [self.input_datatype()] * len(self.onnx_node.input)

    def instream_widths(self) -> list[int]:
        return [f * d.bitwidth() for f, d in zip(self.in_folds(), self.input_datatypes())]

    def outstream_widths(self) -> list[int]:
        return [self.outstream_width()] * len(self.onnx_node.output)

    def input_words(self) -> list[int]:
        return [int(np.prod(s)) // f for s, f in zip(self.input_shapes(), self.in_folds())]

    def output_words(self) -> list[int]:
        return [int(np.prod(self.normal_output_shape())) // self.out_fold()] * len(self.onnx_node.output)

    def make_shape_compatible_op(self, model):
        for o in self.onnx_node.output[1:]:
            model.set_tensor_shape(o, list(self.normal_output_shape()))
        return self.make_const_shape_op(list(self.normal_output_shape()))

    def infer_node_datatype(self, model):
        for o in self.onnx_node.output:
            model.set_tensor_datatype(o, self.output_datatype())

    def execute_node(self, context, graph):
        xs = [np.asarray(context[i]).reshape(s) for i, s in zip(self.onnx_node.input, self.input_shapes())]
        y = np.asarray(self.execute_numpy(*xs), dtype=np.float32).reshape(self.normal_output_shape())
        for o in self.onnx_node.output:
            context[o] = y.copy()
