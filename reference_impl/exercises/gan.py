r"""Solutions of the GAN page's 代码 exercises (tests: ``tests/test_exercises_gan.py``).

The discriminator as a two-sample test: the classifier two-sample test (C2ST) of Lopez-Paz &
Oquab (2017, arXiv:1610.06545). Label one sample 1 and the other 0, train a classifier — here
the GAN's own maxout discriminator with the GAN's own loss, Eq. (1) — on half of the data, and
measure its accuracy on the other half. If both samples come from the same distribution, no
classifier beats a coin on held-out data: the number of correct answers is Binomial(n, 1/2),
which gives a p-value.
"""

import torch

from reference_impl.gan import GANConfig, MaxoutDiscriminator, discriminator_loss


# --8<-- [start:c2st]
def classifier_two_sample_test(
    x: torch.Tensor, y: torch.Tensor, steps: int = 300, seed: int = 0
) -> tuple[float, float]:
    """Do samples x and y come from the same distribution? A trained discriminator decides.

    Args:
        x: First sample (N, F), labelled 1 ("data").
        y: Second sample (N, F), labelled 0 ("generated").
        steps: Adam steps on the training halves.
        seed: Seed of the split and of the discriminator's initial weights.

    Returns:
        Held-out accuracy, and the one-sided p-value of "same distribution" (accuracy 1/2).
    """
    g = torch.Generator().manual_seed(seed)
    half = min(len(x), len(y)) // 2
    x, y = x[torch.randperm(len(x), generator=g)], y[torch.randperm(len(y), generator=g)]
    torch.manual_seed(seed)
    cfg = GANConfig(  # a small maxout discriminator without dropout
        x_dim=x.shape[1], d_units=(32, 32), d_pieces=4, d_input_dropout=0.0, d_hidden_dropout=0.0
    )
    d = MaxoutDiscriminator(cfg)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = discriminator_loss(d(x[:half]), d(y[:half]))  # −V(D, G): labels 1 and 0
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        right = (d(x[half:]) > 0).sum() + (d(y[half:]) <= 0).sum()  # D(x) > 1/2 ⇔ logit > 0
    n = len(x[half:]) + len(y[half:])
    accuracy = right.item() / n
    # under "same distribution", right ~ Binomial(n, 1/2) ≈ N(n/2, n/4): P(accuracy ≥ observed)
    z = torch.tensor((accuracy - 0.5) * (4 * n) ** 0.5)
    return accuracy, 0.5 * torch.erfc(z / 2**0.5).item()


# --8<-- [end:c2st]
