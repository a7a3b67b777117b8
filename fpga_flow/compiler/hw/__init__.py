"""Hardware layer classes (qonnx CustomOps, domain ``fpga_flow.compiler.hw``), one per hls/ module.

qonnx's ``getCustomOp`` imports this package (the node domain) and takes the class named
``op_type``, so ``execute_onnx`` runs a hardware graph.
"""

from .addstreams import AddStreams
from .base import (DOMAIN, HWCustomOp, Resources, make_hw_node, make_single_node_model,
                   pack_words, unpack_words)
from .concat import StreamingConcat
from .duplicate import DuplicateStreams
from .labelselect import LabelSelect
from .mvau import MVAU
from .mvau_binary import BinaryMVAU
from .pool import GlobalAccPool, StreamingMaxPool
from .stream import StreamingDataWidthConverter, StreamingFIFO
from .swg import ConvolutionInputGenerator
from .thresholding import Thresholding
from .unpool import MaxUnpool, StreamingMaxPoolIdx
from .upsample import UpsampleNearestNeighbour
from .vvau import VVAU

# layers with the MVAU interface (folding, weights, mem_mode): op types and their RTL modules
MVAU_OP_TYPES = ("MVAU", "BinaryMVAU")
MVAU_MODULES = ("mvau", "mvau_binary")

HW_OP_TYPES = (
    "MVAU", "BinaryMVAU", "ConvolutionInputGenerator", "StreamingMaxPool", "UpsampleNearestNeighbour",
    "Thresholding", "GlobalAccPool", "LabelSelect", "StreamingFIFO", "StreamingDataWidthConverter",
    "DuplicateStreams", "AddStreams", "StreamingConcat", "VVAU", "StreamingMaxPoolIdx", "MaxUnpool",
)

__all__ = list(HW_OP_TYPES) + [
    "DOMAIN", "HWCustomOp", "Resources", "make_hw_node", "make_single_node_model",
    "pack_words", "unpack_words", "HW_OP_TYPES", "MVAU_OP_TYPES", "MVAU_MODULES",
]
