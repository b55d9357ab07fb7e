"""The VGG page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import vgg
from reference_impl.exercises.vgg import dense_scores, fully_convolutional
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("vgg")}
VGG16 = 138_357_544  # Table 2's 138 M, as tests/test_vgg.py pins it


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def conv3(c_in: int, c_out: int) -> int:
    return 9 * c_in * c_out + c_out


def test_e_minus_d():
    assert value("vgg-e-minus-d") == conv3(256, 256) + 2 * conv3(512, 512)
    assert round(value("vgg-e-minus-d") / 1e4) == 531  # "约 531 万"
    assert round(100 * value("vgg-e-minus-d") / VGG16, 1) == 3.8  # "3.8%"


def test_receptive_field_by_the_recursion():
    field, jump = 1, 1
    for n_convs in (2, 2, 3, 3, 3):  # configuration D
        field += n_convs * (3 - 1) * jump  # 3×3 convolutions, stride 1
        field += (2 - 1) * jump  # 2×2 max-pooling …
        jump *= 2  # … with stride 2
    assert value("vgg-receptive-field") == field == 212


def test_activation_bytes():
    per_layer = 256 * 64 * 224 * 224  # batch × channels × H × W
    assert value("vgg-activation-bytes") == 2 * per_layer * 4
    assert round(value("vgg-activation-bytes") / 1e9, 1) == 6.6  # "约 6.6 GB"
    assert round(VGG16 * 4 / 1e6) == 553  # "约 553 MB"
    assert round(value("vgg-activation-bytes") / (VGG16 * 4)) == 12  # "约 12 倍"


def _small() -> vgg.VGG:
    """Three stages, 32×32 input: a 4×4 last feature map, so fc6 becomes a 4×4 convolution."""
    stages = (("conv3-4",), ("conv3-8", "conv3-8"), ("conv3-8",))
    cfg = vgg.VGGConfig(stages=stages, image_size=32, fc_width=16, num_classes=5)
    return vgg.VGG(cfg).eval()


def test_fully_convolutional_equals_the_model_at_its_size():
    torch.manual_seed(0)
    model = _small()
    net = fully_convolutional(model).eval()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        scores = net(images)
        assert scores.shape == (3, 5, 1, 1)  # one window: the original network
        torch.testing.assert_close(scores[:, :, 0, 0], model(images), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(dense_scores(net, images), model(images), rtol=1e-5, atol=1e-5)


def test_dense_evaluation_on_a_larger_image():
    torch.manual_seed(0)
    model = _small()
    net = fully_convolutional(model).eval()
    image = torch.randn(1, 3, 48, 48)  # 48 / 8 = 6: a 6×6 map, 4×4 kernel → 3×3 scores
    with torch.no_grad():
        scores = net(image)
        assert scores.shape == (1, 5, 3, 3)
        # a score is not the model on the matching crop: the crop pads its borders with zeros,
        # dense evaluation sees the neighbouring pixels (§3.2, "boundary conditions")
        crop = image[:, :, 8:40, 8:40]  # the window of score (1, 1): stride 8 here
        assert not torch.allclose(scores[0, :, 1, 1], model(crop)[0], atol=1e-4)
    assert dense_scores(net, image).shape == (1, 5)


def test_dense_evaluation_at_384_gives_36_positions():
    with torch.device("meta"):
        net = fully_convolutional(vgg.vgg16())
        scores = net(torch.empty(1, 3, 384, 384))
    assert scores.shape == (1, 1000, 6, 6)  # 384 / 32 = 12, 12 − 7 + 1 = 6
    assert (384 // 32 - 7 + 1) ** 2 == 36
