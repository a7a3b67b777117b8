"""sklearn's handwritten digits (1797 8x8 images, ships with scikit-learn) as an MNIST-like LeNet-5 set:
each digit is resized to 20x20 and centred in a 28x28 frame, like MNIST."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset


def digits_tensors(size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    inner = max(8, round(size * 20 / 28))
    x = F.interpolate(x, size=(inner, inner), mode="bilinear", align_corners=False)
    lo = (size - inner) // 2
    x = F.pad(x, (lo, size - inner - lo, lo, size - inner - lo))
    x = (x - 0.1307) / 0.3081
    return x, torch.tensor(d.target, dtype=torch.long)


def digits_loaders(batch_size: int = 64, seed: int = 0, size: int = 28,
                   val_frac: float = 0.2, test_frac: float = 0.2) -> dict[str, DataLoader]:
    """Stratified train/val/test loaders (seeded) over the digits set."""
    from sklearn.model_selection import train_test_split

    x, y = digits_tensors(size)
    idx = torch.arange(len(y)).numpy()
    rest, test = train_test_split(idx, test_size=test_frac, stratify=y.numpy(), random_state=seed)
    train, val = train_test_split(rest, test_size=val_frac / (1 - test_frac), stratify=y[rest].numpy(),
                                  random_state=seed)
    gen = torch.Generator().manual_seed(seed)

    def mk(ix, shuffle):
        ds = TensorDataset(x[ix], y[ix])
        ds.labels = y[ix].tolist()
        return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen if shuffle else None)

    return {"train": mk(train, True), "val": mk(val, False), "test": mk(test, False)}
