"""A table that draws only the rows on screen (Textual's Line API).

Textual's ``DataTable`` builds every cell up front (about 14 s for 100,000
rows); this one keeps the caller's row objects as they are and formats a row
only when its line is drawn, so opening, filtering and sorting 100,000 rows
costs a Python list operation, not a widget per cell.

Columns say how to read a row (``cell``) and how to sort it (``sort_key``);
one column may be ``flex`` and takes the width left over. The first line is
the header (click it, or press ``s``, to sort). Enter posts
:class:`FastTable.RowSelected`; moving the cursor posts
:class:`FastTable.CursorMoved`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass
class Column:
    key: str
    label: str
    width: int = 10
    cell: Callable[[Any], str] = str
    sort_key: Optional[Callable[[Any], Any]] = None
    right: bool = False
    flex: bool = False
    min_width: int = 8          # narrow terminals shrink the column no further first


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` cut with an ellipsis or padded to ``width`` terminal cells."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        out, used = [], 0
        for ch in text:
            w = cell_len(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
        length = used + 1
    pad = " " * (width - length)
    return pad + text if right else text + pad


class FastTable(ScrollView, can_focus=True):
    """Rows of any objects, drawn lazily; the cursor is an index in the shown rows."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "first", "First", show=False, id="table.first"),
        Binding("end", "last", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Open", id="table.open"),
    ]

    COMPONENT_CLASSES = {"fast-table--header", "fast-table--cursor", "fast-table--sorted",
                         "fast-table--stopped", "fast-table--muted"}

    DEFAULT_CSS = """
    FastTable { height: 1fr; overflow-x: hidden; }
    FastTable > .fast-table--header { text-style: bold; background: $panel; color: $text; }
    FastTable > .fast-table--cursor { background: $block-cursor-blurred-background; }
    FastTable:focus > .fast-table--cursor { background: $block-cursor-background;
                                            color: $block-cursor-foreground; }
    FastTable > .fast-table--sorted { text-style: bold underline; }
    FastTable > .fast-table--stopped { background: #5f1f3f; color: #ffffff; }
    FastTable > .fast-table--muted { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class RowSelected(Message):
        def __init__(self, table: "FastTable", row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> "FastTable":
            return self.table

    class CursorMoved(Message):
        def __init__(self, table: "FastTable", row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> "FastTable":
            return self.table

    def __init__(self, columns: Sequence[Column], rows: Sequence[Any] = (),
                 *, row_class: Optional[Callable[[Any], Optional[str]]] = None,
                 name: Optional[str] = None, id: Optional[str] = None,
                 classes: Optional[str] = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.row_class = row_class
        self._all: list = list(rows)
        self._filter: Optional[Callable[[Any], bool]] = None
        self.rows: list = list(self._all)
        self.sort_column: Optional[int] = None
        self.sort_reverse = False
        self._widths: list[int] = []
        self._width_for = -1

    # ------------------------------------------------------------------ data

    def set_rows(self, rows: Sequence[Any], keep_cursor: bool = True) -> None:
        """Replace every row (filter and sort are applied again)."""
        current = self.current_row if keep_cursor else None
        self._all = list(rows)
        self._rebuild(current)

    def set_filter(self, predicate: Optional[Callable[[Any], bool]], narrowing: bool = False) -> None:
        """Show only the rows for which ``predicate`` is true (None: all).

        ``narrowing``: the new predicate keeps a subset of what the old one
        kept (a search typed one more letter), so only the shown rows are
        looked at again, already in order.
        """
        keep = self.current_row
        if narrowing and self._filter is not None and predicate is not None:
            self._filter = predicate
            self.rows = [r for r in self.rows if predicate(r)]
            self._placed(keep)
            return
        self._filter = predicate
        self._rebuild(keep)

    def sort_by(self, index: Optional[int], reverse: bool = False) -> None:
        self.sort_column = index
        self.sort_reverse = reverse
        self._rebuild(self.current_row)

    def cycle_sort(self) -> None:
        """Sort by the next sortable column (none after the last)."""
        order = [i for i, c in enumerate(self.columns) if c.sort_key is not None]
        if not order:
            return
        if self.sort_column is None or self.sort_column not in order:
            nxt = order[0]
        else:
            at = order.index(self.sort_column)
            nxt = order[at + 1] if at + 1 < len(order) else None
        self.sort_by(nxt, False)

    def _rebuild(self, keep: Any = None) -> None:
        rows = self._all
        if self._filter is not None:
            predicate = self._filter
            rows = [r for r in rows if predicate(r)]
        else:
            rows = list(rows)
        if self.sort_column is not None:
            key = self.columns[self.sort_column].sort_key
            if key is not None:
                rows.sort(key=_safe_key(key), reverse=self.sort_reverse)
        self.rows = rows
        self._placed(keep)

    def _placed(self, keep: Any) -> None:
        rows = self.rows
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        index = 0
        if keep is not None:
            try:
                index = rows.index(keep) if len(rows) < 200_000 else 0
            except ValueError:
                index = 0
        self.cursor = min(index, max(len(rows) - 1, 0))
        self._scroll_to_cursor()
        self.refresh()

    @property
    def current_row(self) -> Any:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    # ------------------------------------------------------------------ keys

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(self._page_height() - 1, 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.rows) - 1)

    def action_select(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.RowSelected(self, row))

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index != self.cursor:
            self.cursor = index
            self._scroll_to_cursor()
            self.refresh()
            self.post_message(self.CursorMoved(self, self.current_row))

    def _page_height(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        height = self._page_height()
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------------ mouse

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for i, width in enumerate(self._column_widths()):
                if x <= offset.x < x + width + 1:
                    if self.columns[i].sort_key is not None:
                        same = self.sort_column == i
                        self.sort_by(i, not self.sort_reverse if same else False)
                    return
                x += width + 1
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_select()
            else:
                self.move_to(index)

    # ------------------------------------------------------------------ drawing

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._width_for = -1

    def _column_widths(self) -> list[int]:
        total = self.scrollable_content_region.width
        if total == self._width_for:
            return self._widths
        gaps = len(self.columns) - 1
        flex = [c for c in self.columns if c.flex]
        fixed = sum(c.width for c in self.columns if not c.flex)
        left = total - fixed - gaps
        # the flexible column keeps at least 10 cells; the others give way down
        # to their own minimum (a number or a date cut short is useless)
        share = max(left // len(flex), 10) if flex else 0
        widths = [share if c.flex else c.width for c in self.columns]
        while sum(widths) + gaps > total:
            candidates = [i for i, c in enumerate(self.columns)
                          if not c.flex and widths[i] > max(c.min_width, 4)]
            if not candidates:
                candidates = [i for i in range(len(widths)) if widths[i] > 4]
                if not candidates:
                    break
            i = max(candidates, key=lambda j: widths[j])
            widths[i] -= 1
        self._widths, self._width_for = widths, total
        return widths

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._column_widths()
        base = self.rich_style
        if y == 0:
            header = self._style("fast-table--header")
            sorted_style = self._style("fast-table--sorted")
            segments = []
            for i, (c, w) in enumerate(zip(self.columns, widths)):
                label = c.label
                if self.sort_column == i:
                    label += " ▼" if self.sort_reverse else " ▲"
                style = header + sorted_style if self.sort_column == i else header
                segments.append(Segment(fit(label, w, c.right), base + style))
                if i < len(self.columns) - 1:
                    segments.append(Segment(" ", base + header))
            strip = Strip(segments)
            return strip.adjust_cell_length(width, base + header)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        style = base
        if self.row_class is not None:
            extra = self.row_class(row)
            if extra:
                style = style + self._style("fast-table--" + extra)
        if index == self.cursor:
            style = style + self._style("fast-table--cursor")
        cells = []
        for c, w in zip(self.columns, widths):
            try:
                text = c.cell(row)
            except Exception:
                text = "?"
            cells.append(fit(text or "", w, c.right))
        return Strip([Segment(" ".join(cells), style)]).adjust_cell_length(width, style)


def _safe_key(key: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Sort keys that put missing values (None) last without comparing them."""
    def wrapped(row):
        value = key(row)
        return (value is None, value if value is not None else 0)
    return wrapped
