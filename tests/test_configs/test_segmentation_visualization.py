"""The picture of predicted masks: every cell holds exactly the image or the coloured class map."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lth_mm.datasets.digit_canvas import make_digit_canvases, voc_palette
from lth_mm.visualization import GAP, TITLE_HEIGHT, colorize, draw_segmentation


def test_colorize_uses_the_voc_palette() -> None:
    class_map = np.array([[0, 1, 255], [15, 10, 2]], np.uint8)
    rgb = colorize(class_map)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [128, 0, 0]
    assert rgb[0, 2].tolist() == [224, 224, 192]  # "void"
    assert rgb[1, 0].tolist() == voc_palette()[45:48] == [192, 128, 128]
    grey = [v for i in range(256) for v in (i, i, i)]
    assert np.array_equal(colorize(class_map.astype(np.int64), grey)[..., 0], class_map)


@pytest.mark.parametrize('bad, match', [
    (np.zeros((2, 2, 3), np.uint8), 'H x W integer'),
    (np.zeros((2, 2), np.float32), 'H x W integer'),
    (np.full((2, 2), 300, np.int64), '0..255'),
])
def test_colorize_refuses_bad_maps(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        colorize(bad)


def test_cells_hold_image_truth_and_predictions(tmp_path: Path) -> None:
    canvases = make_digit_canvases(3, seed=5, canvas_size=(40, 48), digit_size=(16, 32))
    images = [c.image for c in canvases]
    truth = [c.class_map for c in canvases]
    shifted = [np.where(t == 255, 0, (t + 1) % 11).astype(np.uint8) for t in truth]
    out = tmp_path / 'pics' / 'masks.png'
    picture = draw_segmentation(images, truth, {'dense': truth, 'random ticket': shifted},
                                path=out, scale=2)
    assert picture.dtype == np.uint8
    assert picture.shape == (TITLE_HEIGHT + 3 * 80 + 4 * GAP, 4 * 96 + 5 * GAP, 3)
    assert np.array_equal(np.asarray(Image.open(out).convert('RGB')), picture)
    for row in range(3):
        y = TITLE_HEIGHT + GAP + row * (80 + GAP)
        cells = [picture[y:y + 80, GAP + col * (96 + GAP):GAP + col * (96 + GAP) + 96]
                 for col in range(4)]
        big = lambda a: np.kron(a, np.ones((2, 2, 1), np.uint8))  # noqa: E731
        assert np.array_equal(cells[0], big(images[row]))
        assert np.array_equal(cells[1], big(colorize(truth[row])))
        assert np.array_equal(cells[2], cells[1])
        assert np.array_equal(cells[3], big(colorize(shifted[row])))
        assert not np.array_equal(cells[3], cells[1])
    title = picture[:TITLE_HEIGHT]
    assert (title < 128).any() and (picture[TITLE_HEIGHT:TITLE_HEIGHT + GAP] == 255).all()


def test_bad_inputs_are_refused() -> None:
    canvas = make_digit_canvases(1, canvas_size=(32, 32), digit_size=(12, 20))[0]
    image, truth = canvas.image, canvas.class_map
    with pytest.raises(ValueError, match='1 images but 2'):
        draw_segmentation([image], [truth], {'dense': [truth, truth]})
    with pytest.raises(ValueError, match=r"'dense' map 0 is \(16, 16\)"):
        draw_segmentation([image], [truth], {'dense': [truth[:16, :16]]})
    with pytest.raises(ValueError, match='H x W x 3 uint8'):
        draw_segmentation([image[..., 0]], [truth], {})
    with pytest.raises(ValueError, match='taken'):
        draw_segmentation([image], [truth], {'image': [truth]})
    with pytest.raises(ValueError, match='scale'):
        draw_segmentation([image], [truth], {}, scale=0)
    with pytest.raises(ValueError, match='no images'):
        draw_segmentation([], [], {})
