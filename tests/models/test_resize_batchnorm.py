"""A pruned (BN-folded) network gets its BatchNorm back for fine-tuning at the design size, then folds it again."""

from __future__ import annotations

import torch

from fpga_flow.models import build
from fpga_flow.models.resize import fine_tune_at_size, recalibrate_batchnorm, with_batchnorm

PRUNED = {"in_size": 32, "width": 1 / 16, "channels": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], "bn": False}


def _pruned(name: str = "vgg16", cfg=PRUNED):
    torch.manual_seed(0)
    model = build(name, **cfg).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.normal_()
    return model


def test_batchnorm_put_back_computes_the_same_function() -> None:
    small = _pruned()
    net, cfg = with_batchnorm(small, "vgg16", PRUNED)
    assert cfg["bn"] is True and sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 13
    x = torch.randn(3, 3, 32, 32)
    torch.testing.assert_close(net(x), small(x), rtol=1e-5, atol=1e-5)
    seg_cfg = {"in_size": 32, "width": 1 / 16, "bn": False}
    seg = _pruned("segnet", seg_cfg)
    seg_bn, _ = with_batchnorm(seg, "segnet", seg_cfg)
    torch.testing.assert_close(seg_bn(x), seg(x), rtol=1e-5, atol=1e-5)


def test_recalibration_sets_the_statistics_of_the_new_size() -> None:
    net, _ = with_batchnorm(_pruned(), "vgg16", PRUNED)
    x = torch.randn(32, 3, 32, 32) * 3 + 1
    recalibrate_batchnorm(net, [(x[:16], None), (x[16:], None)])
    first = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        y = conv(x)
    torch.testing.assert_close(first.running_mean, y.mean((0, 2, 3)), rtol=1e-4, atol=1e-4)
    assert first.momentum == 0.1 and not net.training


def test_fine_tune_at_a_larger_size_returns_the_folded_zoo_model(tmp_path) -> None:
    from fpga_flow.data import get_loaders, synth

    synth.generate(tmp_path / "cls", "cls", n=40, seed=0, size=64)
    loaders = get_loaders(tmp_path / "cls", "cls", image_size=64, batch_size=8, seed=0)
    cfg = PRUNED | {"num_classes": 9}
    model, out_cfg, res = fine_tune_at_size(_pruned(cfg=cfg), "vgg16", cfg, 64, loaders, "cls", epochs=1,
                                            progress=False)
    assert out_cfg == cfg | {"in_size": 64}
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.input_shape == (3, 64, 64) and res.best["epoch"] in (0, 1) and len(res.history) == 2
    # the folded model is the zoo topology: it loads into a fresh build of its config
    build("vgg16", **out_cfg).load_state_dict(model.state_dict(), strict=True)
