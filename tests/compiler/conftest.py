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
        elif name in ("tfc_2w2a", "cnv_2w2a"):
            from brevitas_examples.bnn_pynq.models import model_with_cfg
            import torch
            m, _ = model_with_cfg(name, False)
            shape = (1, 1, 28, 28) if name.startswith("tfc") else (1, 3, 32, 32)
            g = torch.Generator().manual_seed(1)
            with torch.no_grad():  # non-trivial BN statistics
                for mod in m.modules():
                    if isinstance(mod, torch.nn.BatchNorm1d) or isinstance(mod, torch.nn.BatchNorm2d):
                        mod.running_mean.uniform_(-0.5, 0.5, generator=g)
                        mod.running_var.uniform_(0.5, 2.0, generator=g)
            m.eval()
        elif name.startswith("zoo:"):
            # zoo model (small variant) through fpga_flow.quant, as the flow does it
            import torch
            from fpga_flow.models import build
            from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
            zoo = name[4:]
            kw = {"lenet5": dict(width=0.5)}.get(zoo, dict(width=0.0625, in_size=32))
            if "vgg16" in zoo:
                kw["num_classes"] = 8
            fm = build(zoo, **kw)
            fm.eval()
            size = kw.get("in_size", 28)
            cin = 1 if zoo == "lenet5" else 3
            shape = (1, cin, size, size)
            qm = quantize_model(fm, QuantSpec())
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
