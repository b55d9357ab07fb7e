"""Tests of reference_impl/contrastive.py: counts, hand-computed losses, MoCo's key encoder."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.contrastive import (
    ContrastiveConfig,
    SimCLRAugmentation,
    info_nce_loss,
    moco,
    moco_v1_encoder_resnet50,
    moco_v2_encoder_resnet50,
    nt_xent_loss,
    simclr,
    to_grayscale,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_parameter_counts():
    with torch.device("meta"):
        v2 = moco_v2_encoder_resnet50()
        v1 = moco_v1_encoder_resnet50()
        assert v2(torch.empty(2, 3, 224, 224)).shape == (2, 128)
        full = moco()
    assert n_params(v2.backbone) == 23_508_032  # ResNet-50 without fc
    assert n_params(v2.head) == 2048 * 2048 + 2048 + 2048 * 128 + 128 == 4_458_624
    assert n_params(v2) == 27_966_656
    assert n_params(v1) == 23_508_032 + 2048 * 128 + 128 == 23_770_304
    assert n_params(full) == 2 * 27_966_656  # query + key encoder; the queue is a buffer
    assert full.queue.shape == (65536, 128)


def _hand_nt_xent(z1, z2, tau):
    z = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in z1 + z2]
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = {
            k: sum(a * b for a, b in zip(z[i], z[k], strict=True)) / tau
            for k in range(2 * n)
            if k != i
        }
        total += -math.log(math.exp(sims[j]) / sum(math.exp(s) for s in sims.values()))
    return total / (2 * n)


def test_nt_xent_equals_hand_computed_example():
    z1 = [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]
    z2 = [[0.8, 0.6], [0.0, -1.0], [3.0, 4.0]]
    expected = _hand_nt_xent(z1, z2, tau=0.5)
    got = nt_xent_loss(torch.tensor(z1), torch.tensor(z2), tau=0.5)
    assert math.isclose(float(got), expected, rel_tol=1e-6)
    # two-image case with orthogonal unit vectors, closed form at τ = 1:
    # anchor 0 sees its positive (cos 1) and two negatives (cos 0): −log(e / (e + 2))
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert math.isclose(
        float(nt_xent_loss(a, a, 1.0)), -math.log(math.e / (math.e + 2)), rel_tol=1e-6
    )


def test_info_nce_equals_hand_computed_example():
    q = F.normalize(torch.tensor([[1.0, 1.0]]), dim=1)
    k_pos = torch.tensor([[1.0, 0.0]])
    k_neg = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    tau = 0.1
    c = 1 / math.sqrt(2)
    expected = -math.log(
        math.exp(c / tau) / (math.exp(c / tau) + math.exp(c / tau) + math.exp(-c / tau))
    )
    assert math.isclose(float(info_nce_loss(q, k_pos, k_neg, tau)), expected, rel_tol=1e-6)
    assert math.isclose(expected, math.log(2 + math.exp(-2 * c / tau)), rel_tol=1e-9)


def _views(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    aug = SimCLRAugmentation(size=32, strength=0.5, blur=True)
    imgs = torch.rand(n, 3, 32, 32, generator=g)
    return (torch.stack([aug(i, g) for i in imgs]), torch.stack([aug(i, g) for i in imgs]))


def test_moco_logits_match_infonce_and_key_encoder_gets_no_gradient():
    torch.manual_seed(0)
    model = moco(ContrastiveConfig.tiny())
    x_q, x_k = _views()
    logits, k = model(x_q, x_k)
    assert logits.shape == (8, 1 + 256) and not k.requires_grad
    loss = F.cross_entropy(logits, torch.zeros(8, dtype=torch.long))
    q = F.normalize(model.encoder_q(x_q), dim=1)
    torch.testing.assert_close(loss, info_nce_loss(q, k, model.queue, model.cfg.tau))
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in model.encoder_k.parameters())
    for name, p in model.encoder_q.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_key_encoder_moves_by_the_momentum_rule():
    torch.manual_seed(0)
    model = moco(ContrastiveConfig.tiny())
    for p_k, p_q in zip(model.encoder_k.parameters(), model.encoder_q.parameters(), strict=True):
        assert torch.equal(p_k, p_q)  # initialised as a copy
    opt = torch.optim.SGD(model.encoder_q.parameters(), lr=0.5)
    x_q, x_k = _views()
    logits, _ = model(x_q, x_k)
    F.cross_entropy(logits, torch.zeros(8, dtype=torch.long)).backward()
    k_before = [p.detach().clone() for p in model.encoder_k.parameters()]
    opt.step()
    for p_k, before in zip(model.encoder_k.parameters(), k_before, strict=True):
        assert torch.equal(p_k, before)  # the optimiser never touches θ_k
    model.momentum_update()
    m = model.cfg.momentum
    moved = 0
    for p_k, before, p_q in zip(
        model.encoder_k.parameters(), k_before, model.encoder_q.parameters(), strict=True
    ):
        torch.testing.assert_close(p_k, m * before + (1 - m) * p_q)
        moved += int(not torch.equal(p_k, before))
    assert moved > 0


def test_queue_is_first_in_first_out():
    model = moco(ContrastiveConfig.tiny(), queue_size=6, proj_dim=2)
    batches = [torch.full((2, 2), float(i)) for i in range(5)]
    for b in batches[:3]:
        model.enqueue(b)
    assert model.queue[:, 0].tolist() == [0, 0, 1, 1, 2, 2] and int(model.queue_ptr) == 0
    model.enqueue(batches[3])  # the oldest batch (0) leaves first
    assert model.queue[:, 0].tolist() == [3, 3, 1, 1, 2, 2] and int(model.queue_ptr) == 2
    model.enqueue(batches[4])  # then batch 1
    assert model.queue[:, 0].tolist() == [3, 3, 4, 4, 2, 2]


def test_simclr_forward_backward():
    torch.manual_seed(0)
    model = simclr(ContrastiveConfig.tiny())
    x1, x2 = _views()
    loss = model(x1, x2)
    loss.backward()
    assert loss.shape == () and torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_augmentation_pipeline():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(3, 48, 40, generator=g)
    aug = SimCLRAugmentation(size=32)
    views = [aug(img, g) for _ in range(6)]
    assert all(v.shape == (3, 32, 32) and v.min() >= 0 and v.max() <= 1 for v in views)
    assert not torch.allclose(views[0], views[1])
    g2 = torch.Generator().manual_seed(0)
    torch.rand(3, 48, 40, generator=g2)
    assert torch.equal(aug(img, g2), views[0])  # seeded: reproducible
    gray = to_grayscale(img)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
