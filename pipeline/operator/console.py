"""``kennzeichen-checkin console``: the operator's live view of the passages (Textual; runs
over SSH in an 80x24 terminal).

Reads that need review stay at the top and ring the bell when they arrive. Keys: ``c``
correct the plate (candidate accounts show as you type), ``a`` assign an account by customer
number or name, ``d`` dismiss (not a customer), ``u`` undo your last correction, ``q`` quit.
Every action goes through :class:`~pipeline.operator.corrections.Corrections`: audited,
published as a correction event through the outbox, safe beside a running ``run``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import PIL.Image
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static

from pipeline.domain import Account, ReadRecord, Status, iso, local_clock
from pipeline.matching.fuzzy import FuzzyMatcher, MatchThresholds
from pipeline.operator.corrections import CorrectionError, Corrections
from pipeline.operator.plate_image import half_blocks
from pipeline.plate.grammar import parse_plate
from pipeline.privacy.evidence import decode
from pipeline.store.protocol import Store

STATUS_STYLE = {"needs_review": "bold black on yellow", "matched": "green",
                "unregistered": "cyan", "dismissed": "dim"}
LOW_CONFIDENCE = 0.6
EVIDENCE_WIDTH = 76  # cells: the kept crop across an 80-column terminal


def marked_plate(read: ReadRecord) -> Text:
    """The plate as read, with the characters the reads disagreed on in red and underlined
    (the whole plate when its confidence is low)."""
    plate = Text(read.plate_display or "-")
    if read.uncertain and read.plate_display:
        wanted = {int(i) for i in read.uncertain.split(",")}
        k = 0
        for pos, ch in enumerate(read.plate_display):
            if ch in "- ":
                continue
            if k in wanted:
                plate.stylize("bold red underline", pos, pos + 1)
            k += 1
    elif read.confidence < LOW_CONFIDENCE and read.status != "matched":
        plate.stylize("bold red")
    return plate


def pixel_widget() -> type[Widget] | None:
    """textual-image's widget when this terminal shows real pixels (Kitty's graphics
    protocol or Sixel), else None: the crop is then drawn with half blocks. Call before the
    app starts: the terminal is asked what it supports."""
    try:
        from textual_image.renderable import Image as Best
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as Kitty
        from textual_image.widget import Image
    except Exception:  # noqa: BLE001 - not installed, or no terminal to ask
        return None
    return Image if Best in (Sixel, Kitty) else None  # type: ignore[return-value]


def sort_for_review(reads: list[ReadRecord]) -> list[ReadRecord]:
    """Open reviews first (newest first), then everything else newest first."""
    def key(r: ReadRecord) -> tuple[bool, str]:
        return (not (r.status == Status.NEEDS_REVIEW and not r.corrected_at), r.seen_at)

    reads = sorted(reads, key=lambda r: r.seen_at, reverse=True)
    return sorted(reads, key=lambda r: key(r)[0])


class ConsoleApp(App[None]):
    """The live passage list with correction keys."""

    TITLE = "kennzeichen-checkin"
    CSS = """
    #status { height: 1; background: $primary-background; }
    #reads { height: 1fr; }
    #entry { display: none; }
    #entry.open { display: block; }
    #hint { height: auto; max-height: 4; color: $text-muted; }
    #evidence { height: auto; max-height: 12; display: none; }
    #evidence.shown { display: block; }
    #evidence-pixels { height: 8; width: 76; display: none; }
    #evidence-pixels.shown { display: block; }
    """
    BINDINGS = [
        Binding("c", "correct", "Correct"),
        Binding("a", "assign", "Assign"),
        Binding("d", "dismiss", "Dismiss"),
        Binding("u", "undo", "Undo"),
        Binding("n", "arrive", "New arrival"),
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, store: Store, corrections: Corrections,
                 deliver: Callable[[], bool], refresh_s: float = 0.5,
                 window: timedelta = timedelta(hours=12), max_rows: int = 1000,
                 timezone: str = "Europe/Berlin",
                 thresholds: MatchThresholds | None = None,
                 pixels: type[Widget] | None = None) -> None:
        """``thresholds``: ``[matching]``, so the plates the console suggests for a typed
        correction are those the pipeline would consider. ``pixels``: an image widget for
        terminals that show real pixels (see :func:`pixel_widget`); None: half blocks."""
        super().__init__()
        self.pixels = pixels
        self.thresholds = thresholds
        self.timezone = timezone  # the site's: clock times are shown as people there read them
        self.store = store
        self.corrections = corrections
        self.deliver = deliver
        self.refresh_s = refresh_s
        self.window = window
        self.max_rows = max_rows
        self.mode: str | None = None
        self.target: str | None = None
        self.done: list[str] = []  # read ids this operator corrected, for undo
        self.last_action: str = ""
        self._known_reviews: set[str] = set()
        self._matcher: FuzzyMatcher | None = None
        self._fingerprint: tuple[int, str, str] | None = None
        self._evidence: dict[str, bytes | None] = {}  # read id -> its best crop, or None
        self._showing: tuple[str | None, bytes | None] = (None, None)  # what is drawn now
        self._likely = ""  # the open entry's read: its likeliest customers

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        yield DataTable(id="reads", cursor_type="row", zebra_stripes=True)
        yield Static("", id="evidence")
        if self.pixels is not None:
            yield self.pixels(id="evidence-pixels")
        yield Input(id="entry")
        yield Static("", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#reads", DataTable)
        table.add_column("time", key="time", width=8)
        table.add_column("plate", key="plate", width=12)
        table.add_column("conf", key="conf", width=4)
        table.add_column("status", key="status", width=12)
        table.add_column("account", key="account")
        self.refresh_reads()
        self.set_interval(self.refresh_s, self.refresh_reads)

    # -- the list -------------------------------------------------------------------------

    def refresh_reads(self, force: bool = False) -> None:
        fingerprint = self.store.reads_fingerprint()
        if fingerprint == self._fingerprint and not force:
            return  # nothing new: keep the terminal quiet (and the CPU for the camera)
        self._fingerprint = fingerprint
        self._evidence.clear()  # a decided read's crop is gone from the store
        since = iso(datetime.now(UTC) - self.window)
        reads = sort_for_review(self.store.list_reads(since, limit=self.max_rows))
        table = self.query_one("#reads", DataTable)
        selected = self.selected_read_id()
        table.clear()
        for r in reads:
            plate = marked_plate(r)
            status = r.status.replace("_", " ") + (" *" if r.corrected_at else "")
            table.add_row(local_clock(r.seen_at, self.timezone), plate, f"{r.confidence:.2f}",
                          Text(status, style=STATUS_STYLE.get(r.status, "")),
                          r.customer_number or "", key=r.read_id)
        if selected is not None and selected in {r.read_id for r in reads}:
            table.move_cursor(row=table.get_row_index(selected))
        self.show_evidence(self.selected_read_id())
        reviews = {r.read_id for r in reads
                   if r.status == Status.NEEDS_REVIEW and not r.corrected_at}
        if reviews - self._known_reviews:
            self.bell()
            self.notify("a read needs review", severity="warning", timeout=3)
        self._known_reviews = reviews
        depth = self.store.outbox_depth()
        self.query_one("#status", Static).update(
            f"{len(reads)} passages, {len(reviews)} to review, outbox {depth}"
            f"{'  | ' + self.last_action if self.last_action else ''}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_evidence(None if event.row_key.value is None else str(event.row_key.value))

    def show_evidence(self, read_id: str | None) -> None:
        """The selected read's best kept crop under the list (a needs_review car): in
        pixels where the terminal has them, else in half blocks; hidden for reads without
        one. Drawn again only when the selection or its crop changed."""
        if read_id is not None and read_id not in self._evidence:
            crops = self.store.evidence(read_id)
            self._evidence[read_id] = crops[0] if crops else None
        jpeg = self._evidence.get(read_id) if read_id is not None else None
        if not self.query("#evidence") or (read_id, jpeg) == self._showing:
            return  # no screen yet (or any more), or already on it
        self._showing = (read_id, jpeg)
        if self.pixels is not None:
            picture = self.query_one("#evidence-pixels")
            image = None if jpeg is None else decode(jpeg)
            picture.image = None if image is None else PIL.Image.fromarray(  # type: ignore[attr-defined]
                image[:, :, ::-1].copy())
            picture.set_class(image is not None, "shown")
        blocks = jpeg is not None and self.pixels is None
        panel = self.query_one("#evidence", Static)
        panel.update(half_blocks(jpeg, EVIDENCE_WIDTH) if jpeg is not None and blocks else "")
        panel.set_class(blocks, "shown")

    def selected_read_id(self) -> str | None:
        table = self.query_one("#reads", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    # -- actions --------------------------------------------------------------------------

    def _open_entry(self, mode: str, placeholder: str) -> None:
        read_id = self.selected_read_id()
        if read_id is None:
            self.notify("no passage selected", severity="warning")
            return
        self.mode, self.target = mode, read_id
        entry = self.query_one("#entry", Input)
        entry.value = ""
        entry.placeholder = placeholder
        entry.add_class("open")
        entry.focus()
        self._likely = self.likely_customers(read_id)
        self.query_one("#hint", Static).update(self._likely)

    def likely_customers(self, read_id: str) -> str:
        """The customers the matcher found likeliest for this car (a read for review),
        likeliest first: what the operator checks against the plate crop."""
        read = self.store.read(read_id)
        if read is None or not read.candidates:
            return ""
        lines = []
        for number, _score in json.loads(read.candidates)[:3]:
            account = self.store.account(number)
            if account is not None:
                lines.append(f"{number}  {account.display_name}  "
                             f"{', '.join(account.plate_displays)}")
        return "likeliest: " + "\n           ".join(lines) if lines else ""

    def action_correct(self) -> None:
        self._matcher = FuzzyMatcher(self.store.plate_index(), self.store.account,
                                     self.thresholds)
        self._open_entry("correct", "right plate, e.g. OF-AB 123  (Enter: save, Esc: cancel)")

    def action_assign(self) -> None:
        self._open_entry("assign", "customer number or name  (Enter: save, Esc: cancel)")

    def action_arrive(self) -> None:
        """A car the camera did not announce: the operator types its plate or the
        customer's number (:meth:`Corrections.arrive`); no passage need be selected."""
        self.mode, self.target = "arrive", ""
        entry = self.query_one("#entry", Input)
        entry.value = ""
        entry.placeholder = ("car the camera missed: plate (OF-AB 123) or customer number  "
                             "(Enter: announce, Esc: cancel)")
        entry.add_class("open")
        entry.focus()
        self._likely = ""
        self.query_one("#hint", Static).update("")

    def action_dismiss(self) -> None:
        read_id = self.selected_read_id()
        if read_id is not None:
            self.perform("dismiss", read_id, "")

    def action_undo(self) -> None:
        if not self.done:
            self.notify("nothing of yours to undo", severity="warning")
            return
        self.perform("undo", self.done[-1], "")

    def action_cancel(self) -> None:
        self._close_entry()

    def _close_entry(self) -> None:
        entry = self.query_one("#entry", Input)
        entry.remove_class("open")
        self.query_one("#hint", Static).update("")
        self.mode = self.target = None
        self.query_one("#reads", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#hint", Static).update(self.suggestions(event.value))

    def suggestions(self, text: str) -> str:
        """Candidate accounts for what the operator has typed so far (before typing: the
        customers the matcher found likeliest)."""
        if not text.strip():
            return self._likely
        if self.mode == "correct" and self._matcher is not None:
            parsed = parse_plate(text)
            if parsed is None:
                return "not a complete German plate yet"
            found = self._matcher.candidates(parsed.plate.compact)[:3]
            if not found:
                return f"{parsed.plate.display}: not registered (will be 'unregistered')"
            return "\n".join(self._describe(c.customer_number, c.compact, c.cost)
                             for c in found)
        if self.mode == "arrive":
            if text.strip().isdigit():
                found = self.store.account(text.strip())
                return f"{found.customer_number}  {found.display_name}" if found \
                    else "no such customer number"
            parsed = parse_plate(text)
            if parsed is None:
                return "not a complete German plate yet"
            found = self.store.account_for_plate(parsed.plate.compact)
            return (f"{parsed.plate.display}: customer {found.customer_number}  "
                    f"{found.display_name}" if found
                    else f"{parsed.plate.display}: not registered (will be 'unregistered')")
        if self.mode == "assign" and text.strip():
            matches = self.search_accounts(text)
            return "\n".join(f"{a.customer_number}  {a.display_name}  "
                             f"{', '.join(a.plate_displays)}" for a in matches[:3]) \
                or "no customer found"
        return ""

    def _describe(self, customer: str, compact: str, cost: float) -> str:
        account = self.store.account(customer)
        name = account.display_name if account else "?"
        exact = "exact" if cost == 0 else f"~{cost:.1f}"
        return f"{customer}  {name}  ({compact}, {exact})"

    def search_accounts(self, text: str) -> list[Account]:
        text = text.strip().lower()
        accounts = self.store.accounts()
        return [a for a in accounts
                if a.customer_number.startswith(text) or text in a.display_name.lower()]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        mode, target, value = self.mode, self.target, event.value.strip()
        if mode is None or target is None or not value:
            return
        if mode == "assign" and not value.isdigit():
            matches = self.search_accounts(value)
            if len(matches) != 1:
                self.notify(f"{len(matches)} customers match {value!r}: type the number",
                            severity="warning")
                return
            value = matches[0].customer_number
        self._close_entry()
        self.perform(mode, target, value)

    @work(thread=True, exclusive=True)
    def perform(self, action: str, read_id: str, value: str) -> None:
        """Store, audit, queue (fast), then try the broker (may take seconds) off the UI."""
        try:
            if action == "arrive":
                customer = value if value.isdigit() else None
                result = self.corrections.arrive(None if customer else value, customer)
            elif action == "correct":
                result = self.corrections.correct_plate(read_id, value, force=True)
            elif action == "assign":
                result = self.corrections.assign(read_id, value, force=True)
            elif action == "dismiss":
                result = self.corrections.dismiss(read_id, force=True)
            else:
                result = self.corrections.undo(read_id)
        except CorrectionError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=6)
            return
        if action == "undo":
            self.done.pop()
        elif action != "arrive":  # an arrival by hand is withdrawn with d, not undone
            self.done.append(read_id)
        read_id = result.read.read_id
        sent = self.deliver()
        self.last_action = (f"{action} {read_id}: {result.read.status} "
                            f"{'published' if sent else 'queued'}")
        self.call_from_thread(self.refresh_reads, True)
