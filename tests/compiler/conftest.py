import warnings

import numpy as np
import pytest

warnings.filterwarnings("ignore")


@pytest.fixture(scope="session")
def qonnx_nets(tmp_path_factory):
    """Lazily exported test nets: ``qonnx_nets(name) -> (path, input_shape)`` (exported once)."""
    from . import nets

    root = tmp_path_factory.mktemp("qonnx")
    cache = {}

    def get(name):
        if name in cache:
            return cache[name]
        shape = (1, 3, 16, 16)
        if name == "conv_po2":
            m = nets.randomize(nets.conv_net(po2=True))
        elif name == "conv_bn":
            m = nets.randomize(nets.conv_net(po2=False, bn=True))
        elif name == "conv_flatten":
            m = nets.randomize(nets.conv_net(po2=False, gap=False))
        elif name == "upsample":
            m = nets.randomize(nets.upsample_net(po2=False))
        elif name == "upsample_argmax":
            m = nets.ArgMaxHead(nets.randomize(nets.upsample_net(po2=True, out_quant=True)))
        elif name == "upsample_argmax_host":
            m = nets.ArgMaxHead(nets.randomize(nets.upsample_net(po2=False)))
        elif name in ("residual_po2", "residual_float"):
            m = nets.randomize(nets.ResidualNet(po2=name.endswith("po2")))
        elif name == "residual_down_po2":
            m = nets.randomize(nets.ResidualNet(po2=True, downsample=True))
        elif name in ("avgpool_po2", "avgpool_float"):
            m = nets.randomize(nets.avgpool_net(po2=name.endswith("po2")))
        elif name in ("depthwise_po2", "depthwise_float"):
            m = nets.randomize(nets.depthwise_net(po2=name.endswith("po2")))
        elif name in ("concat_po2", "concat_float"):
            m = nets.randomize(nets.SkipConcatNet(po2=name.endswith("po2")))
        elif name in nets.BNN_PYNQ:
            m, shape = nets.bnn_pynq(name)
        elif name.startswith("zoo:") or name.startswith("zoo-channel:"):
            # zoo model (small variant) through fpga_flow.quant, as the flow does it
            import torch
            from fpga_flow.models import build
            from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
            zoo = name.split(":", 1)[1]
            kw = {"lenet5": dict(width=0.5)}.get(zoo, dict(width=0.0625, in_size=32))
            if "vgg16" in zoo:
                kw["num_classes"] = 8
            fm = build(zoo, **kw)
            fm.eval()
            size = kw.get("in_size", 28)
            cin = 1 if zoo == "lenet5" else 3
            shape = (1, cin, size, size)
            # zoo-channel: per-output-channel weight scales (the flow's rows) on BN-fused layers of spread ranges
            if name.startswith("zoo-channel:"):
                g = torch.Generator().manual_seed(2)
                with torch.no_grad():
                    for mod in fm.modules():
                        if isinstance(mod, torch.nn.BatchNorm2d):
                            mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) * 2.9 + 0.1)
                            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) * 1.5 + 0.5)
            spec = QuantSpec(weight_scaling="channel") if name.startswith("zoo-channel:") else QuantSpec()
            qm = quantize_model(fm, spec)
            g = torch.Generator().manual_seed(0)
            calibrate(qm, [torch.randn(*shape, generator=g) for _ in range(2)])
            path = export_qonnx_clean(qm, shape, root / f"{zoo}.onnx")
            cache[name] = (path, shape)
            return cache[name]
        else:
            raise KeyError(name)
        path = nets.export(m, root / f"{name}.onnx", shape)
        cache[name] = (path, shape)
        return cache[name]

    return get


@pytest.fixture
def rng():
    return np.random.default_rng(0)
