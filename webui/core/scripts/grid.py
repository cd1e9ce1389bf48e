"""The grid pictures of A1111's scripts (`modules/images.py` image_grid / draw_grid_annotations,
`scripts/xyz_grid.py` draw_xyz_grid, `draw_prompt_matrix`), drawn with Pillow alone.

- `draw_grid`: cells in rows, x labels above the columns and y labels left of the rows (white
  bands, black text, wrapped to fit), as A1111 draws them. A missing cell (None) is a grey
  placeholder, so a grid can be shown while its cells are still being made and redrawn as they
  come in.
- `draw_xyz_grid`: one such grid per Z value, side by side, each under its Z label.
- `draw_matrix_grid`: the prompt matrix, each header listing the optional parts, those not in
  that row or column struck through in grey.
- `xyz_infotext` and `save_grid`: the grid's "parameters" text and its `grid-NNNNN.png` file.

Bounded: at most `MAX_CELLS` cells, a result of at most `MAX_SIDE` pixels a side and
`MAX_PIXELS` in all (cells and margins are scaled down to fit), labels of `MAX_LABEL`
characters. Pure apart from `save_grid`; no numpy, no downloads (the font is DejaVu Sans when the
system has it, else Pillow's built-in one).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from webui.core.infotext import parse, quote
from webui.core.outputs import png_bytes
from webui.messages import Msg

MAX_CELLS = 256  # as the X/Y/Z plan and the prompt matrix allow
MAX_SIDE = 16384  # pixels on either side of a grid
MAX_PIXELS = 100_000_000  # ~300 MB of RGB; A1111's own cap (img_max_size_mp) is 200 MP
MAX_LABEL = 200  # characters of one label, one title, one matrix part
MAX_MARGIN = 500  # A1111's "Grid margins (px)" slider stops at 500
DEFAULT_CELL = (256, 256)  # the cell size when no image has arrived yet
SCRIPT_NAME = "X/Y/Z plot"

BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
INACTIVE = (153, 153, 153)  # A1111's colour of a matrix part that is off
PLACEHOLDER = (204, 204, 204)
PLACEHOLDER_BORDER = (136, 136, 136)

_GRID_NAME = re.compile(r"^grid-(\d{5,})\.png$")
_FIT_TRIES = 8

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Annotation:
    """One header line, as A1111's GridAnnotation: inactive text is grey and struck through."""

    text: str
    active: bool = True


Header = Sequence[Annotation]  # the lines of one column's or one row's header


class GridError(ValueError):
    """A grid that cannot be drawn from what it was given; `msg` says why (`str()`: English).
    The text drawn into the picture is not a message: it stays as A1111 writes it."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


# --- public API -------------------------------------------------------------------------------


def draw_grid(
    images: Sequence[Image.Image | None],
    columns: int,
    *,
    x_labels: Sequence[str] = (),
    y_labels: Sequence[str] = (),
    title: str = "",
    draw_legend: bool = True,
    margin: int = 0,
    cell_size: tuple[int, int] | None = None,
) -> Image.Image:
    """`images` in rows of `columns` (None: a placeholder). Each image is fitted into
    `cell_size` (default: the first image's size), centred. With `draw_legend`, the labels (one
    per column, one per row; empty lists or all-empty labels: no band) and the title are drawn.
    """
    _check_count(len(images))
    if not 1 <= columns <= MAX_CELLS:
        raise GridError(Msg("scripts.grid_columns", limit=MAX_CELLS, columns=columns))
    rows = math.ceil(len(images) / columns)
    grid = _Grid(
        list(images),
        columns,
        _headers(x_labels, columns, "x_labels") if draw_legend else [],
        _headers(y_labels, rows, "y_labels") if draw_legend else [],
    )
    titles = [_clip(title)] if draw_legend else [""]
    return _compose([grid], titles, _cell_size(cell_size, images), margin)


def draw_xyz_grid(
    images_by_index: Mapping[int, Image.Image],
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    z_labels: Sequence[str],
    *,
    draw_legend: bool = True,
    margin: int = 0,
    cell_size: tuple[int, int] | None = None,
) -> Image.Image:
    """One grid per Z value (`len(x_labels)` columns, `len(y_labels)` rows), side by side;
    image `ix + iy*nx + iz*nx*ny` in column ix, row iy of grid iz. A missing index is a
    placeholder. The Z labels are titles when there are several Z values or the one is not
    empty (an axis of type Nothing has the single label "")."""
    nx, ny, nz = (max(1, len(labels)) for labels in (x_labels, y_labels, z_labels))
    total = nx * ny * nz
    _check_count(total)
    outside = sorted(i for i in images_by_index if not 0 <= i < total)
    if outside:
        raise GridError(Msg("scripts.grid_index_outside", index=outside[0], x=nx, y=ny, z=nz))
    cells = [images_by_index.get(i) for i in range(total)]
    per_grid = nx * ny
    grids = [
        _Grid(
            cells[iz * per_grid : (iz + 1) * per_grid],
            nx,
            _headers(x_labels, nx, "x_labels") if draw_legend else [],
            _headers(y_labels, ny, "y_labels") if draw_legend else [],
        )
        for iz in range(nz)
    ]
    z_texts = [_clip(label) for label in z_labels] or [""]
    show_titles = draw_legend and (nz > 1 or any(z_texts))
    titles = z_texts if show_titles else [""] * nz
    return _compose(grids, titles, _cell_size(cell_size, cells), margin)


def draw_matrix_grid(
    images: Sequence[Image.Image | None],
    parts: Sequence[str],
    *,
    margin: int = 0,
    cell_size: tuple[int, int] | None = None,
) -> Image.Image:
    """A1111's prompt matrix: 2^n images for the n optional parts (`parts[0]` is the fixed
    part), image i holding part k+1 when bit k of i is set. The first ceil(n/2) parts vary
    across the columns and head them, the others down the rows; in each header a part that is
    off is grey and struck through."""
    optional = [_clip(part.strip().strip(",").strip()) for part in parts[1:]]
    expected = 1 << len(optional)
    if expected > MAX_CELLS:
        raise GridError(Msg("scripts.grid_matrix_too_big", count=expected, limit=MAX_CELLS))
    if len(images) != expected:
        raise GridError(Msg("scripts.grid_matrix_images", parts=len(optional), expected=expected,
                            got=len(images)))
    boundary = math.ceil(len(optional) / 2)
    across, down = optional[:boundary], optional[boundary:]

    def headers(names: list[str]) -> list[Header]:
        if not names:
            return []
        return [
            [Annotation(name, bool(position & (1 << k))) for k, name in enumerate(names)]
            for position in range(1 << len(names))
        ]

    grid = _Grid(list(images), 1 << len(across), headers(across), headers(down))
    return _compose([grid], [""], _cell_size(cell_size, images), margin)


def xyz_infotext(base: str, axes: Sequence[tuple[str, str, str]]) -> str:
    """The grid's infotext: `base` (the first cell's) with A1111's fields on its last line:
    `Script: X/Y/Z plot, X Type: CFG Scale, X Values: "5, 9"`; `axes` are
    (name, type label, values text), those of type "Nothing" left out."""
    pairs = [f"Script: {SCRIPT_NAME}"]
    for name, type_label, values in axes:
        if type_label == "Nothing":
            continue
        pairs.append(f"{name} Type: {quote(type_label)}")
        pairs.append(f"{name} Values: {quote(values)}")
    fields = ", ".join(pairs)
    base = base.rstrip()
    if not base:
        return fields
    has_parameters = len(parse(base)) > 2  # beyond "Prompt" and "Negative prompt"
    return f"{base}, {fields}" if has_parameters else f"{base}\n{fields}"


def save_grid(folder: Path, image: Image.Image, infotext: str) -> Path:
    """Write `grid-NNNNN.png` (the next free number; never overwriting, even when another
    writer takes a number meanwhile) with `infotext` as its "parameters" chunk."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = png_bytes(image, infotext)
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _GRID_NAME.match(p.name))]
    number = max(numbers, default=-1) + 1
    while True:
        path = folder / f"grid-{number:05d}.png"
        try:
            with open(path, "xb") as file:
                file.write(data)
        except FileExistsError:
            number += 1
            continue
        return path


# --- layout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Cells in rows of `columns`, one header per column (or none) and per row (or none)."""

    cells: list[Image.Image | None]
    columns: int
    top: Sequence[Header]
    left: Sequence[Header]

    @property
    def rows(self) -> int:
        return math.ceil(len(self.cells) / self.columns)


@dataclass(frozen=True)
class _Style:
    """Text metrics for one cell size (A1111: font size (width + height) / 25)."""

    font: Font
    size: int
    line_height: int
    pad: int  # around a band's text
    gap: int  # between lines

    @classmethod
    def for_cell(cls, cell: tuple[int, int]) -> _Style:
        size = min(256, max(10, (cell[0] + cell[1]) // 25))
        font = _font(size)
        return cls(font, size, _line_height(font), max(2, size // 2), max(1, size // 4))

    def height(self, lines: int) -> int:
        return 0 if lines == 0 else lines * self.line_height + (lines - 1) * self.gap


@dataclass(frozen=True)
class _Layout:
    """Where one grid's bands and cells go, its header text wrapped."""

    grid: _Grid
    cell: tuple[int, int]
    margin: int
    style: _Style
    top: list[list[Annotation]]
    left: list[list[Annotation]]
    pad_left: int
    pad_top: int

    @classmethod
    def of(cls, grid: _Grid, cell: tuple[int, int], margin: int, style: _Style) -> _Layout:
        has_left = any(line.text for header in grid.left for line in header)
        has_top = any(line.text for header in grid.top for line in header)
        pad_left = cell[0] * 3 // 4 if has_left else 0  # A1111's band width
        left = (
            [_wrap_header(h, style, pad_left - 2 * style.pad) for h in grid.left]
            if has_left
            else []
        )
        top = [_wrap_header(h, style, cell[0] - 2 * style.gap) for h in grid.top] if has_top else []
        pad_top = max(style.height(len(h)) for h in top) + 2 * style.pad if has_top else 0
        return cls(grid, cell, margin, style, top, left, pad_left, pad_top)

    @property
    def size(self) -> tuple[int, int]:
        columns, rows = self.grid.columns, self.grid.rows
        return (
            self.pad_left + columns * self.cell[0] + (columns - 1) * self.margin,
            self.pad_top + rows * self.cell[1] + (rows - 1) * self.margin,
        )

    def origin(self, column: int, row: int) -> tuple[int, int]:
        return (
            self.pad_left + column * (self.cell[0] + self.margin),
            self.pad_top + row * (self.cell[1] + self.margin),
        )


@dataclass(frozen=True)
class _Composition:
    """Grids side by side, each under its title (titles all "": no title band)."""

    layouts: list[_Layout]
    titles: list[list[str]]
    title_height: int
    spacing: int  # between grids

    @classmethod
    def of(
        cls, grids: list[_Grid], titles: list[str], cell: tuple[int, int], margin: int
    ) -> _Composition:
        style = _Style.for_cell(cell)
        layouts = [_Layout.of(grid, cell, margin, style) for grid in grids]
        wrapped = [
            _wrap(title, style.font, layout.size[0] - 2 * style.pad) if title else []
            for layout, title in zip(layouts, titles, strict=True)
        ]
        lines = max(len(w) for w in wrapped)
        title_height = style.height(lines) + 2 * style.pad if lines else 0
        spacing = max(margin, style.pad) if len(grids) > 1 else 0
        return cls(layouts, wrapped, title_height, spacing)

    @property
    def size(self) -> tuple[int, int]:
        widths = [layout.size[0] for layout in self.layouts]
        height = max(layout.size[1] for layout in self.layouts)
        return sum(widths) + self.spacing * (len(widths) - 1), self.title_height + height


def _compose(
    grids: list[_Grid], titles: list[str], cell: tuple[int, int], margin: int
) -> Image.Image:
    margin = min(MAX_MARGIN, max(0, int(margin)))
    cell, margin = _fit(lambda c, m: _Composition.of(grids, titles, c, m).size, cell, margin)
    composition = _Composition.of(grids, titles, cell, margin)
    result = Image.new("RGB", composition.size, BACKGROUND)
    draw = ImageDraw.Draw(result)
    x = 0
    for layout, title in zip(composition.layouts, composition.titles, strict=True):
        style = layout.style
        width = layout.size[0]
        y = (composition.title_height - style.height(len(title))) / 2
        _draw_lines(draw, x + width / 2, y, [Annotation(line) for line in title], style)
        _render(layout, result, (x, composition.title_height))
        x += width + composition.spacing
    return _bounded(result)


def _fit(
    measure: Callable[[tuple[int, int], int], tuple[int, int]], cell: tuple[int, int], margin: int
) -> tuple[tuple[int, int], int]:
    """Shrink the cells and the margin until the whole picture is within the bounds (the text
    does not shrink in proportion, having a smallest size, hence the few tries)."""
    for _ in range(_FIT_TRIES):
        width, height = measure(cell, margin)
        factor = min(
            1.0, MAX_SIDE / width, MAX_SIDE / height, math.sqrt(MAX_PIXELS / (width * height))
        )
        if factor >= 1.0:
            break
        cell = (max(1, int(cell[0] * factor)), max(1, int(cell[1] * factor)))
        margin = int(margin * factor)
    return cell, margin


def _bounded(image: Image.Image) -> Image.Image:
    """The last resort, should `_fit` not have got there: scale the picture itself."""
    width, height = image.size
    factor = min(1.0, MAX_SIDE / width, MAX_SIDE / height, math.sqrt(MAX_PIXELS / (width * height)))
    if factor >= 1.0:
        return image
    size = (max(1, int(width * factor)), max(1, int(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


# --- drawing ----------------------------------------------------------------------------------


def _render(layout: _Layout, target: Image.Image, offset: tuple[int, int]) -> None:
    """Draw the grid onto `target` (white already) with its top left corner at `offset`."""
    grid, style = layout.grid, layout.style
    left, top = offset
    for index, source in enumerate(grid.cells):
        row, column = divmod(index, grid.columns)
        x, y = layout.origin(column, row)
        target.paste(_cell(source, layout.cell), (left + x, top + y))
    draw = ImageDraw.Draw(target)
    for column, lines in enumerate(layout.top):
        x = left + layout.origin(column, 0)[0] + layout.cell[0] / 2
        y = top + (layout.pad_top - style.height(len(lines))) / 2
        _draw_lines(draw, x, y, lines, style)
    for row, lines in enumerate(layout.left):
        y = top + layout.origin(0, row)[1] + (layout.cell[1] - style.height(len(lines))) / 2
        _draw_lines(draw, left + layout.pad_left / 2, y, lines, style)


def _cell(source: Image.Image | None, size: tuple[int, int]) -> Image.Image:
    """The image fitted into `size` (aspect kept, centred on white), or the placeholder."""
    if source is None:
        return _placeholder(size)
    image = _rgb(source)
    if image.size == size:
        return image
    scale = min(size[0] / image.width, size[1] / image.height)
    fitted_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    fitted = image.resize(fitted_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fitted.size == size:
        return fitted
    cell = Image.new("RGB", size, BACKGROUND)
    cell.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
    return cell


def _rgb(image: Image.Image) -> Image.Image:
    """RGB, transparency flattened onto white."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _placeholder(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, PLACEHOLDER)
    border = max(1, min(size) // 256)
    ImageDraw.Draw(image).rectangle(
        (0, 0, size[0] - 1, size[1] - 1), outline=PLACEHOLDER_BORDER, width=border
    )
    return image


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    center_x: float,
    top: float,
    lines: Sequence[Annotation],
    style: _Style,
) -> None:
    """Lines centred on `center_x` from `top` down; inactive ones grey and struck through."""
    y = top
    for line in lines:
        length = style.font.getlength(line.text)
        left = center_x - length / 2
        colour = TEXT if line.active else INACTIVE
        draw.text((left, y), line.text, font=style.font, fill=colour)
        if not line.active and line.text:
            middle = y + style.line_height * 0.55
            draw.line(
                (left, middle, left + length, middle), fill=INACTIVE, width=max(1, style.size // 10)
            )
        y += style.line_height + style.gap


# --- text -------------------------------------------------------------------------------------


def _wrap_header(header: Header, style: _Style, width: int) -> list[Annotation]:
    return [
        Annotation(text, line.active)
        for line in header
        for text in _wrap(line.text, style.font, width)
    ]


def _wrap(text: str, font: Font, width: int) -> list[str]:
    """A1111's wrap (words onto a line while it fits), and a word wider than the line (a long
    name, a prompt in a script without spaces) broken where it must."""
    width = max(1, width)
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
            continue
        while len(word) > 1 and font.getlength(word) > width:
            cut = _longest_prefix(word, font, width)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def _longest_prefix(word: str, font: Font, width: int) -> int:
    """The most characters of `word` that fit in `width` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


@functools.lru_cache(maxsize=32)
def _font(size: int) -> Font:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _line_height(font: Font) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent
    return font.getbbox("Ag")[3]


# --- checks -----------------------------------------------------------------------------------


def _check_count(count: int) -> None:
    if count < 1:
        raise GridError(Msg("scripts.grid_empty"))
    if count > MAX_CELLS:
        raise GridError(Msg("scripts.grid_too_many", count=count, limit=MAX_CELLS))


def _headers(labels: Sequence[str], count: int, name: str) -> list[Header]:
    """One header per column ("x_labels") or per row ("y_labels")."""
    if not labels:
        return []
    if len(labels) != count:
        mismatch = (
            Msg("scripts.grid_column_labels", name=name, labels=len(labels), count=count)
            if name == "x_labels"
            else Msg("scripts.grid_row_labels", name=name, labels=len(labels), count=count)
        )
        raise GridError(mismatch)
    return [[Annotation(_clip(label))] for label in labels]


def _clip(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"


def _cell_size(
    size: tuple[int, int] | None, images: Sequence[Image.Image | None]
) -> tuple[int, int]:
    if size is None:
        size = next((image.size for image in images if image is not None), DEFAULT_CELL)
    width, height = (int(n) for n in size)
    if width < 1 or height < 1:
        raise GridError(Msg("scripts.grid_empty_cell", width=width, height=height))
    return min(width, MAX_SIDE), min(height, MAX_SIDE)
