"""The ALVH signal engine (ALVH_METHOD.md §4–§8) as small pure rules.

- :mod:`.params` — the parameters, ``METHOD_VERSION``;
- :mod:`.inputs` — typed day inputs from a mart row and the VX quotes;
- :mod:`.book` — the hedge book and tickets;
- :mod:`.sizing` — target strikes, r*, N*, q_i, the steward cap;
- :mod:`.vega` — |V_ic| (the program vega);
- :mod:`.rules` — one function per rule, each returning decisions;
- :mod:`.execution` — decisions to tickets, settlement of expired contracts;
- :mod:`.step` — one session; :mod:`.publish` — its rows;
- :mod:`.replay` — many sessions, then :mod:`.stress` as its own pass.
"""

from alvh.transforms.signal.book import Book, Lot, Order, book_from_positions
from alvh.transforms.signal.params import LAYERS, METHOD_VERSION, HedgeParams
from alvh.transforms.signal.publish import DayResult
from alvh.transforms.signal.quotes import CurveQuotes
from alvh.transforms.signal.replay import Replay, model_ic_for, replay
from alvh.transforms.signal.step import step

__all__ = [
    "LAYERS",
    "METHOD_VERSION",
    "Book",
    "CurveQuotes",
    "DayResult",
    "HedgeParams",
    "Lot",
    "Order",
    "Replay",
    "book_from_positions",
    "model_ic_for",
    "replay",
    "step",
]
