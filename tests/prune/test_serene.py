"""SeReNe vs l2-magnitude pruning on a small, deterministic case (LeNet-5 variant on sklearn digits)."""

from __future__ import annotations

import pytest
import torch

from fpga_flow.models import build
from fpga_flow.models.train import TrainConfig, evaluate, fit
from fpga_flow.prune.digits import digits_loaders
from fpga_flow.prune.loop import PruneConfig, prune
from fpga_flow.prune.simplify import simplify

CH = [16, 32, 64]


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    loaders = digits_loaders(size=16, batch_size=64)
    torch.manual_seed(0)
    m = build("lenet5", in_size=16, channels=CH)
    fit(m, loaders, "digits", TrainConfig(epochs=5, lr=3e-3, progress=False))
    return loaders, {k: v.clone() for k, v in m.state_dict().items()}


def _run(trained, **kw):
    loaders, state = trained
    net = build("lenet5", in_size=16, channels=CH)
    net.load_state_dict(state)
    cfg = PruneConfig(**{**dict(granularity="channel", epochs=10, lr=5e-3, patience=1, loss_bound=1.0,
                                metric="accuracy", progress=False), **kw})
    res = prune(net, loaders, "digits", cfg)
    simple = simplify(res.model)
    return res, simple, loaders


def test_serene_prunes_more_channels_than_magnitude(trained) -> None:
    serene, s_simple, loaders = _run(trained, method="serene", lam=0.2)
    magn, m_simple, _ = _run(trained, method="magnitude", lam=5e-4)
    # same accuracy budget: both within 1 point of the same reference on validation
    assert serene.reference == magn.reference
    for r in (serene, magn):
        assert r.bound_met and r.final >= r.reference - 1.0
    # the simplified models really are smaller and give the same accuracy as the pruned ones
    assert 100 * evaluate(s_simple.model, loaders["val"], "digits")["accuracy"] == pytest.approx(serene.final)
    assert sum(s_simple.channels) < sum(m_simple.channels) - 5 < sum(CH)
    assert serene.pruned_fraction > magn.pruned_fraction + 0.05


def test_unreachable_target_returns_best_and_says_so(trained) -> None:
    res, simple, _ = _run(trained, method="serene", lam=0.1, epochs=2, loss_bound=0.0, target=0.95)
    assert res.target_met is False and res.bound_met
    assert "target 95% not reachable within the bound: best model found returned" in res.message
    assert res.final >= res.reference
