"""The scripts' grid pictures: cells in place, placeholders, legends, Z sub-grids, the prompt
matrix, the infotext, the grid files and the bounds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from webui.core import infotext
from webui.core.outputs import read_infotext
from webui.core.scripts import grid
from webui.core.scripts.grid import (
    draw_grid,
    draw_matrix_grid,
    draw_xyz_grid,
    save_grid,
    xyz_infotext,
)

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
WHITE = (255, 255, 255)
CELL = 32


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (CELL, CELL)) -> Image.Image:
    return Image.new("RGB", size, colour)


def colours_of(image: Image.Image) -> set[tuple[int, ...]]:
    return {colour for _, colour in image.getcolors(maxcolors=1 << 16)}


def centre(image: Image.Image, left: int, top: int, size: int = CELL) -> tuple[int, ...]:
    return image.getpixel((left + size // 2, top + size // 2))


# --- draw_grid ----------------------------------------------------------------------------------


def test_a_2x2_grid_puts_each_cell_in_its_place() -> None:
    image = draw_grid([solid(RED), solid(GREEN), solid(BLUE), solid(YELLOW)], 2)
    assert image.size == (2 * CELL, 2 * CELL)
    assert image.mode == "RGB"
    assert centre(image, 0, 0) == RED
    assert centre(image, CELL, 0) == GREEN
    assert centre(image, 0, CELL) == BLUE
    assert centre(image, CELL, CELL) == YELLOW


def test_margins_separate_the_cells_in_white() -> None:
    image = draw_grid([solid(RED), solid(GREEN), solid(BLUE), solid(YELLOW)], 2, margin=6)
    assert image.size == (2 * CELL + 6, 2 * CELL + 6)
    assert image.getpixel((CELL + 3, 5)) == WHITE
    assert centre(image, CELL + 6, CELL + 6) == YELLOW


def test_rows_are_the_cells_over_the_columns_and_a_short_last_row_is_blank() -> None:
    image = draw_grid([solid(RED), solid(GREEN), solid(BLUE)], 2)
    assert image.size == (2 * CELL, 2 * CELL)
    assert centre(image, CELL, CELL) == WHITE


def test_a_missing_cell_is_a_grey_placeholder_with_a_border() -> None:
    image = draw_grid([solid(RED), None, None, solid(BLUE)], 2)
    assert image.size == (2 * CELL, 2 * CELL)
    assert centre(image, CELL, 0) == grid.PLACEHOLDER
    assert image.getpixel((CELL, 10)) == grid.PLACEHOLDER_BORDER
    assert centre(image, CELL, CELL) == BLUE


def test_without_any_image_the_cells_are_placeholders_of_the_default_size() -> None:
    image = draw_grid([None, None], 2)
    assert image.size == (2 * grid.DEFAULT_CELL[0], grid.DEFAULT_CELL[1])
    assert centre(image, 0, 0, grid.DEFAULT_CELL[0]) == grid.PLACEHOLDER


def test_cells_take_the_first_real_images_size_and_others_are_fitted_centred() -> None:
    wide = solid(GREEN, (CELL * 2, CELL))  # half the height once fitted: white above and below
    image = draw_grid([None, solid(RED), wide, solid(BLUE, (CELL * 4, CELL * 4))], 2)
    assert image.size == (2 * CELL, 2 * CELL)
    assert centre(image, 0, CELL) == GREEN
    assert image.getpixel((CELL // 2, CELL + 2)) == WHITE
    assert centre(image, CELL, CELL) == BLUE


def test_cell_size_is_honoured() -> None:
    image = draw_grid([solid(RED), solid(BLUE)], 2, cell_size=(10, 20))
    assert image.size == (20, 20)
    assert image.getpixel((5, 10)) == RED
    assert image.getpixel((15, 10)) == BLUE


def test_transparency_is_flattened_onto_white() -> None:
    clear = Image.new("RGBA", (CELL, CELL), (255, 0, 0, 0))
    image = draw_grid([clear, solid(RED, (CELL, CELL))], 2)
    assert centre(image, 0, 0) == WHITE
    assert centre(image, CELL, 0) == RED


def test_labels_add_bands_only_with_the_legend() -> None:
    cells = [solid(RED), solid(GREEN), solid(BLUE), solid(YELLOW)]
    labels = {"x_labels": ["CFG Scale: 5", "CFG Scale: 9"], "y_labels": ["Steps: 10", "Steps: 20"]}
    plain = draw_grid(cells, 2, **labels, draw_legend=False)
    assert plain.size == (2 * CELL, 2 * CELL)

    legend = draw_grid(cells, 2, **labels)
    width, height = legend.size
    assert width > 2 * CELL and height > 2 * CELL
    # the cells sit bottom right, after the y band and under the x band
    assert centre(legend, width - 2 * CELL, height - 2 * CELL) == RED
    assert centre(legend, width - CELL, height - CELL) == YELLOW
    # black text on white in the bands
    band = legend.crop((0, 0, width, height - 2 * CELL))
    assert colours_of(band) >= {WHITE, (0, 0, 0)}


def test_x_labels_alone_add_a_band_above_and_y_labels_alone_one_at_the_left() -> None:
    cells = [solid(RED), solid(GREEN)]
    above = draw_grid(cells, 2, x_labels=["a", "b"])
    assert above.width == 2 * CELL and above.height > CELL
    left = draw_grid(cells, 2, y_labels=["row"])
    assert left.height == CELL and left.width == 2 * CELL + CELL * 3 // 4


def test_empty_labels_make_no_band() -> None:
    image = draw_grid([solid(RED), solid(GREEN)], 2, x_labels=["", ""], y_labels=[""])
    assert image.size == (2 * CELL, CELL)


def test_a_title_adds_a_band_above() -> None:
    cells = [solid(RED), solid(GREEN)]
    titled = draw_grid(cells, 2, title="Sampler: Euler a")
    assert titled.width == 2 * CELL and titled.height > CELL
    assert draw_grid(cells, 2, title="Sampler: Euler a", draw_legend=False).size == (2 * CELL, CELL)


def test_long_labels_wrap_into_more_lines() -> None:
    cells = [solid(RED), solid(GREEN)]
    short = draw_grid(cells, 2, x_labels=["a", "b"])
    long = draw_grid(cells, 2, x_labels=["a long label of many words", "b"])
    unbroken = draw_grid(cells, 2, x_labels=["x" * 60, "b"])
    assert long.width == short.width == unbroken.width
    assert long.height > short.height
    assert unbroken.height > short.height  # a word wider than the cell is broken


def test_label_counts_must_match_the_grid() -> None:
    cells = [solid(RED), solid(GREEN)]
    with pytest.raises(ValueError, match="x_labels has 3 labels for 2 columns"):
        draw_grid(cells, 2, x_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="y_labels has 2 labels for 1 rows"):
        draw_grid(cells, 2, y_labels=["a", "b"])


def test_the_builtin_font_serves_when_dejavu_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_truetype = ImageFont.truetype

    def no_files(font: object, *args: object, **kwargs: object) -> ImageFont.FreeTypeFont:
        if isinstance(font, str):
            raise OSError("cannot open resource")
        return real_truetype(font, *args, **kwargs)  # Pillow's own embedded font

    grid._font.cache_clear()
    monkeypatch.setattr(ImageFont, "truetype", no_files)
    try:
        image = draw_grid([solid(RED), solid(GREEN)], 2, x_labels=["a", "b"])
        assert image.height > CELL
    finally:
        grid._font.cache_clear()


# --- draw_xyz_grid ------------------------------------------------------------------------------


def test_z_values_make_sub_grids_side_by_side_under_their_titles() -> None:
    colours = [RED, GREEN, BLUE, YELLOW]  # index ix + iy*nx + iz*nx*ny with nx=2, ny=1, nz=2
    images = {i: solid(c) for i, c in enumerate(colours)}
    image = draw_xyz_grid(images, ["", ""], [""], ["Seed: 1", "Seed: 2"])
    width, height = image.size
    assert width > 4 * CELL  # two sub-grids and a gap
    assert height > CELL  # the title band
    top = height - CELL
    assert centre(image, 0, top) == RED
    assert centre(image, CELL, top) == GREEN
    assert centre(image, width - 2 * CELL, top) == BLUE
    assert centre(image, width - CELL, top) == YELLOW
    assert image.getpixel((2 * CELL + 1, top + 5)) == WHITE  # between the sub-grids


def test_xyz_cells_follow_the_plan_order_and_missing_ones_are_placeholders() -> None:
    # nx=2, ny=2, nz=1: index ix + iy*2; index 2 (ix=0, iy=1) not made yet
    images = {0: solid(RED), 1: solid(GREEN), 3: solid(YELLOW)}
    image = draw_xyz_grid(
        images, ["CFG Scale: 5", "CFG Scale: 9"], ["Steps: 10", "Steps: 20"], [""]
    )
    width, height = image.size
    assert width > 2 * CELL and height > 2 * CELL
    assert centre(image, width - 2 * CELL, height - 2 * CELL) == RED
    assert centre(image, width - CELL, height - 2 * CELL) == GREEN
    assert centre(image, width - 2 * CELL, height - CELL) == grid.PLACEHOLDER
    assert centre(image, width - CELL, height - CELL) == YELLOW


def test_one_empty_z_label_adds_no_title_and_no_legend_draws_nothing() -> None:
    images = {0: solid(RED), 1: solid(GREEN)}
    assert draw_xyz_grid(images, ["", ""], [""], [""]).size == (2 * CELL, CELL)
    assert draw_xyz_grid(images, ["", ""], [""], ["Seed: 1"]).height > CELL
    bare = draw_xyz_grid(images, ["a", "b"], ["c"], ["Seed: 1"], draw_legend=False)
    assert bare.size == (2 * CELL, CELL)


def test_xyz_equals_draw_grid_for_one_z_value() -> None:
    images = {0: solid(RED), 1: solid(GREEN), 2: solid(BLUE), 3: solid(YELLOW)}
    xyz = draw_xyz_grid(images, ["a", "b"], ["c", "d"], [""], margin=3)
    flat = draw_grid(
        [images[i] for i in range(4)], 2, x_labels=["a", "b"], y_labels=["c", "d"], margin=3
    )
    assert xyz.tobytes() == flat.tobytes()


def test_xyz_refuses_an_index_outside_the_plot() -> None:
    with pytest.raises(ValueError, match="index 4 is outside the 2x2x1 plot"):
        draw_xyz_grid({4: solid(RED)}, ["a", "b"], ["c", "d"], [""])


# --- draw_matrix_grid ---------------------------------------------------------------------------


def test_matrix_places_image_i_by_its_bits_and_heads_rows_and_columns() -> None:
    # three optional parts: two across (bits 0, 1: four columns), one down (bit 2: two rows)
    colours = [(i * 30, 255 - i * 30, (i * 70) % 256) for i in range(8)]
    image = draw_matrix_grid([solid(c) for c in colours], ["a cat", " red", " hat, ", "dog"])
    width, height = image.size
    pad_left, pad_top = width - 4 * CELL, height - 2 * CELL
    assert pad_left > 0 and pad_top > 0
    for i, colour in enumerate(colours):
        row, column = divmod(i, 4)
        assert centre(image, pad_left + column * CELL, pad_top + row * CELL) == colour
    headers = image.crop((0, 0, width, pad_top))
    assert colours_of(headers) >= {WHITE, (0, 0, 0), grid.INACTIVE}  # on, off (struck)


def test_matrix_counts_must_agree() -> None:
    with pytest.raises(ValueError, match="2 optional parts has 4 images, not 3"):
        draw_matrix_grid([solid(RED)] * 3, ["a", "b", "c"])
    single = draw_matrix_grid([solid(RED)], ["just a cat"])
    assert single.size == (CELL, CELL)


# --- xyz_infotext -------------------------------------------------------------------------------

BASE = (
    "a cat\nNegative prompt: ugly\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: photon_v1"
)


def test_infotext_appends_the_script_fields_to_the_last_line() -> None:
    text = xyz_infotext(
        BASE, [("X", "CFG Scale", "5, 9"), ("Y", "Steps", "10, 20"), ("Z", "Nothing", "")]
    )
    assert text == (
        "a cat\nNegative prompt: ugly\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: photon_v1, "
        'Script: X/Y/Z plot, X Type: CFG Scale, X Values: "5, 9", Y Type: Steps, '
        'Y Values: "10, 20"'
    )
    parsed = infotext.parse(text)
    assert parsed["Prompt"] == "a cat" and parsed["Steps"] == "20"
    assert parsed["X Values"] == "5, 9" and parsed["Y Type"] == "Steps"
    assert "Z Type" not in parsed


def test_infotext_quotes_values_as_a1111_does() -> None:
    text = xyz_infotext(BASE, [("X", "Prompt S/R", "cat, dog"), ("Y", "Seed", "1")])
    assert text.endswith('X Type: Prompt S/R, X Values: "cat, dog", Y Type: Seed, Y Values: 1')
    text = xyz_infotext(BASE, [("X", "Sampler", "Euler a\nDPM++ 2M")])
    assert text.endswith('X Values: "Euler a\\nDPM++ 2M"')
    assert infotext.parse(text)["X Values"] == "Euler a\nDPM++ 2M"


def test_infotext_without_a_parameters_line_gets_one() -> None:
    assert xyz_infotext("a cat", [("X", "Steps", "10, 20")]) == (
        'a cat\nScript: X/Y/Z plot, X Type: Steps, X Values: "10, 20"'
    )
    assert xyz_infotext("", [("X", "Nothing", "")]) == "Script: X/Y/Z plot"


# --- save_grid ----------------------------------------------------------------------------------


def test_grids_are_numbered_in_their_folder_with_the_infotext(tmp_path: Path) -> None:
    folder = tmp_path / "txt2img-grids" / "2026-12-02"
    image = draw_grid([solid(RED), solid(GREEN)], 2)
    first = save_grid(folder, image, BASE)
    second = save_grid(folder, image, "second")
    assert (first.name, second.name) == ("grid-00000.png", "grid-00001.png")
    assert read_infotext(first) == BASE
    assert read_infotext(second) == "second"
    with Image.open(first) as saved:
        assert saved.size == image.size
        assert saved.convert("RGB").getpixel((CELL // 2, CELL // 2)) == RED


def test_grid_numbers_follow_the_highest_and_ignore_other_files(tmp_path: Path) -> None:
    (tmp_path / "grid-00007.png").write_bytes(b"")
    (tmp_path / "00042-123.png").write_bytes(b"")
    (tmp_path / "grid-notes.txt").write_bytes(b"")
    assert save_grid(tmp_path, solid(RED), "").name == "grid-00008.png"


def test_a_taken_name_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = tmp_path / "grid-00000.png"
    taken.write_bytes(b"another writer's")
    # as if the other writer took the number after this one looked
    monkeypatch.setattr(grid, "_GRID_NAME", re.compile(r"^$"))
    path = save_grid(tmp_path, solid(RED), "mine")
    assert path.name == "grid-00001.png"
    assert taken.read_bytes() == b"another writer's"
    assert read_infotext(path) == "mine"


# --- bounds -------------------------------------------------------------------------------------


def test_more_than_256_cells_are_refused() -> None:
    with pytest.raises(ValueError, match="257 cells"):
        draw_grid([None] * 257, 16)
    with pytest.raises(ValueError, match="300 cells"):
        draw_xyz_grid({}, [str(i) for i in range(10)], [str(i) for i in range(10)], ["a", "b", "c"])
    with pytest.raises(ValueError, match="512 cells"):
        draw_matrix_grid([None] * 512, ["a", *"bcdefghi", "j"])
    with pytest.raises(ValueError, match="at least one cell"):
        draw_grid([], 1)
    with pytest.raises(ValueError, match="columns"):
        draw_grid([None], 0)


def test_the_result_is_scaled_to_at_most_16384_pixels_a_side() -> None:
    cells = [solid(RED, (128, 128))] * 256  # 32,768 pixels in one row
    image = draw_grid(cells, 256, x_labels=[str(i) for i in range(256)], margin=20)
    assert image.width <= grid.MAX_SIDE
    assert image.width > grid.MAX_SIDE * 0.9  # scaled to fit, not far below
    assert image.getpixel((image.width - 10, image.height - 10)) == RED


def test_the_result_is_bounded_in_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid, "MAX_PIXELS", 10_000)
    image = draw_grid([solid(RED, (100, 100))] * 4, 2, x_labels=["a", "b"])
    assert image.width * image.height <= 10_000


def test_labels_are_cut_at_200_characters() -> None:
    cells = [solid(RED, (64, 64))] * 2
    some = draw_grid(cells, 2, x_labels=["ab " * 100, "b"], title="t " * 150)
    many = draw_grid(cells, 2, x_labels=["ab " * 5000, "b"], title="t " * 50_000)
    assert some.tobytes() == many.tobytes()


def test_margins_are_clamped() -> None:
    cells = [solid(RED), solid(GREEN)]
    assert draw_grid(cells, 2, margin=-5).size == (2 * CELL, CELL)
    assert draw_grid(cells, 2, margin=10_000).size == (2 * CELL + grid.MAX_MARGIN, CELL)
