"""The driver API over cpu backends and a numpy integer backend: same results, clear input errors."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import io_dict, rand_images, tiny_seg
from fpga_flow.errors import FlowError
from fpga_flow.runtime import Accelerator, Source
from fpga_flow.runtime.backends.base import Backend, Domain
from fpga_flow.runtime.backends.cpu import export_onnx
from fpga_flow.runtime.images import InputResized
from fpga_flow.runtime.iospec import iospec_from_dict


def test_torch_and_onnxruntime_agree_on_classifier(cls_build):
    folder, model = cls_build
    x = rand_images(3)
    with Accelerator("cpu-torch", folder, model=model) as a, Accelerator("cpu-onnxruntime", folder) as b:
        ra, rb = a.execute(x), b.execute(x)
    assert ra.scores.shape == (3, 4)
    np.testing.assert_allclose(ra.scores, rb.scores, rtol=1e-4, atol=1e-5)
    assert (ra.pred == rb.pred).all() and (ra.pred == ra.scores.argmax(1)).all()
    assert a.source is Source.MEASURED and b.input_shape == (3, 8, 8)


def test_segmentation_maps_become_nhwc_masks(tmp_path):
    model = tiny_seg()
    export_onnx(model, tmp_path / "model.onnx", (1, 3, 8, 8))
    r = Accelerator("cpu-onnxruntime", tmp_path).execute(rand_images(2))
    assert r.scores.shape == (2, 8, 8, 2) and r.pred.shape == (2, 8, 8)
    assert set(np.unique(r.pred)) <= {0, 1}


def test_wrong_size_is_resized_with_warning_or_rejected(cls_build):
    folder, _ = cls_build
    acc = Accelerator("cpu-onnxruntime", folder)
    with pytest.warns(InputResized):
        r = acc.execute(rand_images(1, hw=13))
    assert r.scores.shape == (1, 4)
    strict = Accelerator("cpu-onnxruntime", folder, resize=False)
    with pytest.raises(FlowError, match=r"expected \(N, 3, 8, 8\)"):
        strict.execute(rand_images(1, hw=13))
    with pytest.raises(FlowError, match="1 channels: expected"):
        acc.execute(np.zeros((1, 1, 8, 8), np.float32))


def test_resize_of_same_size_is_identity_and_bilinear_is_exact_on_ramps():
    from fpga_flow.runtime.images import _resize_bilinear

    ramp = np.tile(np.arange(8, dtype=np.float64), (1, 8, 1))
    up = _resize_bilinear(ramp, 8, 16)
    np.testing.assert_allclose(up[0, 3], np.clip((np.arange(16) + 0.5) / 2 - 0.5, 0, 7), atol=1e-12)
    np.testing.assert_allclose(_resize_bilinear(ramp, 8, 8), ramp)


class NumpyAccel(Backend):
    """An integer NHWC backend in numpy standing for the hardware: per-pixel channel sums -> GAP."""

    name = "numpy-int"
    domain = Domain.INT_NHWC
    source = Source.RTLSIM

    def __init__(self, k):
        self.k = k
        self.seen = None

    def run(self, x):
        self.seen = x
        s = x.sum(axis=(1, 2))  # (N, C)
        return np.stack([s[:, i % 3] * (i + 1) for i in range(self.k)], axis=-1).reshape(len(x), 1, 1, self.k)


def test_int_backend_gets_quantised_nhwc_and_output_is_scaled(tmp_path):
    import json

    (tmp_path / "io.json").write_text(json.dumps(io_dict("cls", in_scale=0.5, out_scale=0.25)))
    be = NumpyAccel(4)
    acc = Accelerator(be, tmp_path)
    x = np.zeros((1, 3, 8, 8), np.float32)
    x[0, 1] = 1.26  # -> round(2.52) = 3
    x[0, 2] = 1000.0  # clipped to INT8 max 127
    r = acc.execute(x)
    assert be.seen.shape == (1, 8, 8, 3) and be.seen.dtype == np.int64
    assert (be.seen[..., 1] == 3).all() and (be.seen[..., 2] == 127).all() and (be.seen[..., 0] == 0).all()
    expected_raw = np.array([0, 3 * 64 * 2, 127 * 64 * 3, 0])
    assert (r.raw.reshape(-1) == expected_raw).all()
    np.testing.assert_allclose(r.scores.reshape(-1), expected_raw * 0.25)
    assert r.pred.tolist() == [2]


def test_label_output_is_taken_as_is():
    spec = iospec_from_dict(io_dict("seg", label=True, k=2))
    raw = np.random.default_rng(1).integers(0, 2, (2, 8, 8, 1))
    assert (spec.predictions(raw) == raw[..., 0]).all()
    assert spec.output_is_label and spec.task == "seg"


def test_int_backend_without_io_json_is_an_error(tmp_path):
    with pytest.raises(FlowError, match="io.json missing"):
        Accelerator(NumpyAccel(2), tmp_path)


def test_unknown_backend_and_pynq_off_board(cls_build):
    folder, _ = cls_build
    with pytest.raises(FlowError, match="unknown backend 'gpu'"):
        Accelerator("gpu", folder)
    with pytest.raises(FlowError, match="only on a PYNQ board"):
        Accelerator("pynq", folder)


def test_throughput_test_reports_measured_figures(cls_build):
    folder, _ = cls_build
    figs = Accelerator("cpu-onnxruntime", folder).throughput_test(batch_size=4, repeats=2)
    assert figs["source"] == "measured" and figs["batch_size"] == 4
    assert figs["throughput_fps"] == pytest.approx(4 / figs["runtime_s"])
