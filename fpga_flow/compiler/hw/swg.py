"""ConvolutionInputGenerator (SWG): im2col with zero padding (hls/SPEC.md §SWG).

Two RTL modules: ``hls/swg.v`` (one word of SIMD elements per (kh, kw, channel fold)) and, with
``parallel_window = 1`` (FINN's ConvolutionInputGenerator_rtl attribute; needs SIMD = IFMChannels),
``hls/swg_pw.v``: one word per output pixel carrying the whole window (K_H·K_W·CH elements, same
element order), a line-buffer design that takes one pixel and gives one window per cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .base import PassThroughStreamOp, Resources, bram18_count, clog2, const_mul_dsp


@dataclass
class SWGAttrs:
    IFMDim: list[int]  # [H, W]
    IFMChannels: int
    ConvKernelDim: list[int] = field(default_factory=lambda: [3, 3])
    Stride: list[int] = field(default_factory=lambda: [1, 1])
    Padding: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # [top, left, bottom, right]
    SIMD: int = 1
    inputDataType: str = "UINT8"
    ram_style: str = "auto"
    parallel_window: int = 0  # 1: one output word per window (hls/swg_pw.v); needs SIMD == IFMChannels


class _ModuleName:
    """``rtl_module``, decided in this one place: ``swg_pw`` with ``parallel_window = 1``, else
    ``swg`` (the class itself reports ``swg``). codegen, rtlsim and synth take ``hls/<module>.v``."""

    def __get__(self, obj, cls=None) -> str:
        if obj is None:
            return "swg"
        return "swg_pw" if obj.get_nodeattr("parallel_window") else "swg"


class ConvolutionInputGenerator(PassThroughStreamOp):
    """Output ``(1, OFM_H, OFM_W, K_H·K_W·CH)``, row ``(kh·K_W + kw)·CH + c``; padding value 0."""

    Attrs = SWGAttrs
    rtl_module = _ModuleName()  # type: ignore[assignment]
    fold_attr = "SIMD"
    channels_attr = "IFMChannels"

    def dims(self):
        a = self.attrs
        H, W = a.IFMDim
        kh, kw = a.ConvKernelDim
        sh, sw = a.Stride
        pt, pl, pb, pr = a.Padding
        oh = (H + pt + pb - kh) // sh + 1
        ow = (W + pl + pr - kw) // sw + 1
        return H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.IFMChannels)

    def normal_output_shape(self):
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        return (1, oh, ow, kh * kw * self.get_nodeattr("IFMChannels"))

    def execute_numpy(self, x):
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        C = self.get_nodeattr("IFMChannels")
        x = np.asarray(x).reshape(1, H, W, C)
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        out = np.empty((1, oh, ow, kh, kw, C), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, :, i, j, :] = xp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
        return out.reshape(1, oh, ow, kh * kw * C)

    def buffer_pixels(self) -> int:
        """Pixels held ahead of the windows: swg_pw.v's line buffer, or hls/swg.v's circular buffer
        D = min((K_H+STRIDE_H-2)·IFM_W + 2·K_W, IFM_H·IFM_W)."""
        H, W, kh, kw, sh, *_ = self.dims()
        return (kh - 1) * W + kw if self.parallel() else min(H * W, (kh + sh - 2) * W + 2 * kw)

    def channel_fold(self) -> int:
        return self.get_nodeattr("IFMChannels") // self.get_nodeattr("SIMD")

    def buffered_input_words(self) -> int:
        """Input words held ahead of the windows: swg.v's circular pixel buffer, swg_pw.v's line buffer."""
        return self.buffer_pixels() * self.channel_fold() + 4

    def parallel(self) -> bool:
        return bool(self.get_nodeattr("parallel_window"))

    def out_fold(self) -> int:
        # parallel window: one word per output pixel (K_H·K_W·SIMD elements, SIMD = IFMChannels)
        if self.parallel():
            kh, kw = self.get_nodeattr("ConvKernelDim")
            return kh * kw * self.in_fold()
        return self.in_fold()

    def check_folding(self) -> list[str]:
        errs = super().check_folding()
        if self.parallel():
            C, S = self.get_nodeattr("IFMChannels"), self.get_nodeattr("SIMD")
            if S != C:
                errs.append(f"parallel_window=1 needs SIMD == IFMChannels (one input word per pixel), "
                            f"got SIMD={S}, IFMChannels={C}")
            H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
            if pt >= kh or pl >= kw:
                errs.append(f"parallel_window=1 needs top/left padding smaller than the kernel, "
                            f"got Padding={[pt, pl, pb, pr]}, ConvKernelDim={[kh, kw]}")
        return errs

    def pw_extent(self) -> tuple[int, int]:
        """Rows × columns of positions hls/swg_pw.v walks per frame (one per cycle): the image plus
        the bottom/right padding that the last window row/column reaches into."""
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        py_last = kh - 1 - pt + (oh - 1) * sh
        px_last = kw - 1 - pl + (ow - 1) * sw
        return max(H, py_last + 1), max(W, px_last + 1)

    def exp_cycles(self):
        if self.parallel():
            # Model of hls/swg_pw.v (SPEC.md §SWG, parallel window): one position per cycle over the
            # image extended by the bottom/right padding the windows need; top/left padding is masked
            # (free) and frames run back to back, so this is exact in steady state.
            rh, rw = self.pw_extent()
            return rh * rw
        # Model of hls/swg.v (SPEC.md §SWG, changed by the hardware developer to match the RTL
        # within a few cycles): the reader emits OFM_H·OFM_W·K_H·K_W·CF words, the writer reads
        # IFM_H·IFM_W·CF words (padding is not streamed), the two overlap; `fill` is the initial
        # wait of the first window for its last input pixel, `tail` what follows the last input.
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        C, S = self.get_nodeattr("IFMChannels"), self.get_nodeattr("SIMD")
        cf = C // S
        rd = oh * ow * kh * kw * cf
        wr = H * W * cf
        fill = max(0, ((kh - 1 - pt) * W + (kw - pl)) * cf - kh * kw * cf)
        tail = (pb * kw + pr + 1) * cf + 2
        return max(rd + fill, wr + tail)

    def buffer_bits(self) -> int:
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        C = self.get_nodeattr("IFMChannels")
        if self.parallel():  # K_H-1 line buffers of IFM_W pixels
            return (kh - 1) * W * C * self.input_datatype().bitwidth()
        return ((kh - 1) * (W + pl + pr) + kw) * C * self.input_datatype().bitwidth()

    def resource_estimate(self):
        bits = self.buffer_bits()
        a = self.attrs
        if self.parallel():
            # one line-buffer memory of IFM_W words × (K_H-1) pixels; window register (K_W-1 columns)
            # and output register (K_H·K_W pixels) in FFs, one LUT per output bit for the padding mask
            H, W, kh, kw, *_ = self.dims()
            px = self.instream_width()
            if a.ram_style != "distributed" and bits > 4096:
                bram, lutram = bram18_count((kh - 1) * px, W), 0
            else:
                bram, lutram = 0, math.ceil(bits / 64)
            lut = 150 + lutram + kh * kw * px
            ff = 100 + (2 * kw - 1) * kh * px + 2 * px
            return Resources(lut=float(lut), ff=float(ff), bram18=bram)
        # hls/swg.v: a circular buffer of D pixels (BUF_WORDS words of SIMD·BITS bits) with a registered
        # read; it has no RAM_STYLE, so Yosys takes BRAM for it whenever it holds more than 4 kbit (and
        # is over 32 words), whatever the node's ram_style (vgg16-hcr 224: 11 BRAM18 in 7 SWGs the fold
        # had set to distributed). LUTs: control, address counters that grow with the image, the
        # output register; three address products that may become DSPs (const_mul_dsp).
        words, width = self.buffer_words(), self.instream_width()
        if words > 32 and words * width > 4096:
            bram, lutram = bram18_count(width, words), 0
        else:
            bram, lutram = 0, math.ceil(words * width / 64)
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        lut = 130 + lutram + 2 * width + 8 * math.log2(max(2, H * W))
        ff = 100 + 2 * width
        return Resources(lut=float(lut), ff=float(ff), bram18=bram, dsp=self.address_dsps())

    def buffer_words(self) -> int:
        """hls/swg.v's BUF_WORDS: D pixels (``buffer_pixels``) of CF words."""
        return self.buffer_pixels() * self.channel_fold()

    def address_dsps(self) -> int:
        """DSP48s Yosys makes of hls/swg.v's address products ``ry * IFM_W`` (LW bits) and the read and
        write ``pa * CF`` (AW bits)."""
        H, W, *_ = self.dims()
        cf, d = self.channel_fold(), self.buffer_pixels()
        lw = clog2(H * W + d + 2) + 1
        aw = max(1, clog2(d * cf))
        return const_mul_dsp(W, lw) + 2 * const_mul_dsp(cf, aw)

    def rtl_parameters(self):
        H, W, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow = self.dims()
        p = {
            "IFM_H": H, "IFM_W": W, "CH": self.get_nodeattr("IFMChannels"),
            "K_H": kh, "K_W": kw, "STRIDE_H": sh, "STRIDE_W": sw,
            "PAD_T": pt, "PAD_L": pl, "PAD_B": pb, "PAD_R": pr,
            "SIMD": self.get_nodeattr("SIMD"), "BITS": self.input_datatype().bitwidth(),
        }
        if self.parallel():
            del p["SIMD"]  # swg_pw: SIMD = CH
        return p
