"""SeReNe neuron sensitivity against finite differences, and the regularised update."""

from __future__ import annotations

import torch
from torch import nn

from fpga_flow.prune.regularizers import SereneRegularizer
from fpga_flow.prune.sensitivity import neuron_sensitivity, normalise


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        m[3].weight[:, 2] = 0  # hidden neuron 2 reaches no output: sensitivity 0
    return m


def test_sensitivity_matches_finite_differences() -> None:
    m = _mlp()
    x = torch.randn(7, 6)
    s = neuron_sensitivity(m, x)[0]
    # y = W2 relu(a) + b2, so dy_k/da_n = W2[k, n] * 1[a_n > 0]; S_n = mean over samples of (1/C) sum_k |.|
    a = m[1](x)
    want = ((m[3].weight.abs().unsqueeze(0) * (a > 0).float().unsqueeze(1)).mean(1)).mean(0)
    torch.testing.assert_close(s, want.detach())
    # finite differences on one sample
    eps = 1e-3
    x1 = x[:1]
    fd = torch.zeros(5)
    for n in range(5):
        d = torch.zeros(1, 5)
        d[0, n] = eps
        y_p = m[3](torch.relu(m[1](x1) + d))
        y_m = m[3](torch.relu(m[1](x1) - d))
        fd[n] = ((y_p - y_m) / (2 * eps)).abs().mean()
    torch.testing.assert_close(neuron_sensitivity(m, x1)[0], fd, atol=1e-3, rtol=1e-3)
    assert s[2] == 0


def test_normalise_and_regulariser_shrinks_insensitive_neuron_only() -> None:
    m = _mlp()
    x = torch.randn(16, 6)
    sb = normalise(neuron_sensitivity(m, x))[0]
    assert sb[2] == 0 and torch.isclose(sb.mean(), torch.tensor(1.0))
    w_before = m[1].weight.detach().clone()
    SereneRegularizer(lam=0.5, every=1)(nn.Sequential(*m), x, 0)
    ratio = (m[1].weight / w_before).mean(1)
    ins = torch.relu(1 - sb)
    torch.testing.assert_close(ratio, 1 - 0.5 * ins)
    assert ratio[2] == 0.5 and ratio.max() == 1.0
