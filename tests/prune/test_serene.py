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


def test_epoch_schedule_prunes_in_a_short_run(trained) -> None:
    # 3 epochs: a plateau schedule may never see one; the epoch schedule takes a step after every epoch
    res, simple, loaders = _run(trained, method="serene", lam=0.2, epochs=3, schedule="epoch")
    assert res.bound_met and res.final >= res.reference - 1.0
    assert res.pruned_fraction > 0.2
    assert sum(simple.channels) < sum(CH)
    assert 100 * evaluate(simple.model, loaders["val"], "digits")["accuracy"] == pytest.approx(res.final)


def test_unknown_schedule(trained) -> None:
    from fpga_flow.errors import FlowError

    with pytest.raises(FlowError, match="unknown pruning schedule 'weekly'"):
        _run(trained, method="serene", schedule="weekly")


def test_serene_shrink_keeps_bn_running_stats_consistent() -> None:
    # shrinking a channel's conv weight by c scales its BN input by c: the running mean/var must follow,
    # or eval mode normalises the shrunk channel with stale statistics
    import copy

    from fpga_flow.prune.graph import units
    from fpga_flow.prune.regularizers import SereneRegularizer

    torch.manual_seed(0)
    m = build("vgg16", in_size=32, width=1 / 16, num_classes=9)
    x = torch.randn(8, 3, 32, 32)

    def stats(net):
        bn = units(net)[0].bn
        bn.reset_running_stats()
        bn.momentum = None  # cumulative: exactly the statistics of x
        net.train()
        with torch.no_grad():
            net(x)
        return bn.running_mean.clone(), bn.running_var.clone()

    stats(m)
    reg = SereneRegularizer(lam=0.5)
    reg(m, x, 0)
    mean, var = units(m)[0].bn.running_mean.clone(), units(m)[0].bn.running_var.clone()
    ref_mean, ref_var = stats(copy.deepcopy(m))
    assert (reg.insensitivity[0] > 0).any()
    assert torch.allclose(mean, ref_mean, atol=1e-5)
    assert torch.allclose(var, ref_var, rtol=1e-3, atol=1e-6)


def test_segmentation_fine_tunes_with_soft_jaccard() -> None:
    """The pruning loop's loss for segmentation is CE + (1 - soft IoU of the lesion class), so that a lower
    loss cannot come from giving up lesion pixels; classification keeps plain CE."""
    import torch.nn.functional as F

    from fpga_flow.errors import FlowError
    from fpga_flow.prune.loop import PruneConfig, Pruner, prune_criterion, soft_jaccard_loss

    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2, :2] = 1  # 4 lesion pixels of 16
    perfect = torch.where(target.bool(), 1.0, -1.0)[:, None].expand(1, 2, 4, 4) * torch.tensor([-20.0, 20.0])[None, :, None, None]
    assert float(soft_jaccard_loss(perfect, target)) < 1e-3
    background = torch.stack([torch.full((1, 4, 4), 3.0), torch.full((1, 4, 4), -3.0)], 1)  # all background
    q = float(torch.sigmoid(torch.tensor(-6.0)))  # lesion probability everywhere
    assert float(soft_jaccard_loss(background, target)) == pytest.approx(1 - (4 * q + 1) / (16 * q + 4 - 4 * q + 1))
    ce = F.cross_entropy(background, target)
    assert float(prune_criterion("seg")(background, target)) == pytest.approx(float(ce) + float(soft_jaccard_loss(background, target)))
    assert float(prune_criterion("seg", "ce")(background, target)) == pytest.approx(float(ce))
    labels = torch.tensor([1])
    logits = torch.tensor([[0.2, 0.9]])
    assert float(prune_criterion("cls")(logits, labels)) == pytest.approx(float(F.cross_entropy(logits, labels)))
    with pytest.raises(FlowError, match="unknown pruning loss 'dice'"):
        Pruner(torch.nn.Linear(2, 2), {}, "seg", PruneConfig(loss="dice"))


def test_refine_spends_the_headroom_one_layer_group_at_a_time() -> None:
    """refine drops the weakest group of `multiple_of` channels per layer while the score stays above the
    floor: here the score only needs all 4 channels of the first conv, so every other layer goes to 2."""
    from torch import nn

    from fpga_flow.prune.loop import Pruner
    from fpga_flow.prune.masks import Masks

    torch.manual_seed(0)
    m = build("vgg16", width=1 / 16, in_size=32, bn=False)
    first = next(x for x in m.modules() if isinstance(x, nn.Conv2d))

    def score(model: nn.Module) -> float:
        return 1.0 if int((first.weight.flatten(1).abs().sum(1) > 0).sum()) == 4 else 0.5

    p = Pruner(m, {}, "cls", PruneConfig(multiple_of=2, progress=False, device="cpu"), metric_fn=score)
    masks = p.refine(Masks.ones(m), floor=99.0)
    assert [int(c.sum()) for c in masks.channel[:-1]] == [4] + [2] * 12
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]
    assert [int((c.weight.flatten(1).abs().sum(1) > 0).sum()) for c in convs] == [4] + [2] * 12


def _recovering_pruner(recovers: bool, **kw):
    """A Pruner whose score loses 0.6 points per group of 2 channels removed since the last recovery
    fine-tuning, and whose fine-tuning (stubbed) wins all of them back when ``recovers``."""
    from torch import nn

    from fpga_flow.prune.loop import Pruner

    torch.manual_seed(0)
    m = build("vgg16", width=1 / 16, in_size=32, bn=False)
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]

    def dead_groups() -> int:
        return sum(int((c.weight.flatten(1).abs().sum(1) == 0).sum()) for c in convs) // 2

    class Recovering(Pruner):
        credited = 0

        def fine_tune(self, masks, epochs, criterion) -> float:
            assert epochs == self.cfg.recover_epochs
            if recovers:
                self.credited = dead_groups()
            return self.score()

    p = Recovering(m, {}, "cls", PruneConfig(multiple_of=2, progress=False, device="cpu", **kw),
                   metric_fn=lambda model: (100 - 0.6 * (dead_groups() - p.credited)) / 100)
    return p, dead_groups


def test_refine_with_recovery_prunes_past_what_one_pass_can_spend() -> None:
    """The loop leaves the model at its floor (bisection prunes up to it), so a plain refine pass cannot drop a
    group that costs more than the margin (0.6 > 0.5 points here): nothing is pruned. Refine rounds go down
    to floor - slack (2 points: 4 groups of 2 per round), then recovery fine-tuning brings the score back
    within the bound before the round is kept: 8 rounds x 4 groups."""
    from fpga_flow.prune.masks import Masks

    p, dead = _recovering_pruner(recovers=True)
    history: list[dict] = []
    masks = p.refine_with_recovery(Masks.ones(p.model), floor=99.5, criterion=None, history=history)
    assert [h["kept"] for h in history] == [True] * 8
    assert dead() == 32 and sum(int((~c).sum()) for c in masks.channel) == 64
    assert p.score() >= 99.5
    plain, dead = _recovering_pruner(recovers=True, refine_rounds=0)
    assert all(bool(c.all()) for c in plain.refine(Masks.ones(plain.model), floor=99.5).channel)
    assert dead() == 0


def test_refine_rounds_that_do_not_recover_are_undone() -> None:
    """Without recovery every round below the floor is undone and the slack halved (2 -> 1 -> 0.5 -> 0.25 -> 0,
    where no group fits): the model comes back unpruned, within the bound."""
    from fpga_flow.prune.masks import Masks

    p, dead = _recovering_pruner(recovers=False)
    history: list[dict] = []
    masks = p.refine_with_recovery(Masks.ones(p.model), floor=99.5, criterion=None, history=history)
    assert [(h["slack"], h["kept"]) for h in history] == [(2.0, False), (1.0, False), (0.5, False), (0.25, False),
                                                                  (0.0, True)]
    assert dead() == 0 and all(bool(c.all()) for c in masks.channel)
    assert p.score() == 100.0
