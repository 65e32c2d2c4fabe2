"""Who qualifies: many rules judged over many holders at once, on numpy columns.

``Holdings`` holds every holder's balances as one exact integer column per asset (a
missing asset is 0); ``audit(rules, holdings)`` judges each named rule over every
holder at once and answers with an ``AuditResult``: per rule, the holders who pass
in input order, a count and a mask, and on request each refused holder's
``Decision`` (what ``Rule.explain`` says they lack). The answers are exactly those
of ``Rule.evaluate`` holder by holder, ``<`` and ``<=`` needing a positive balance
included. There is no float anywhere: a column is ``int64`` when every balance fits,
and otherwise a column of Python ints, slower but exact (never wrapped). Needs the
``audit`` extra (numpy).

``read_holdings`` reads a holder file into ``Holdings``: CSV, JSON lines or Parquet
(Parquet needs pyarrow, also in the extra), wide (a ``holder`` column and one column
per asset) or long (``holder``, ``asset``, ``amount``), amounts in exact tokens or base
units; a bad cell is a ``BalanceFileError`` naming the file, the line or row, and the
column.

Modules: ``_audit`` (the columns, the evaluation, the result), ``_files`` (holder files).

>>> from tca_gate.audit import Holdings, audit
>>> holdings = Holdings({"alice": {"LTBCOIN": 20_000 * 10**8}, "bob": {}, "carol": {"TOKENLY": 1}})
>>> result = audit({"whale": "LTBCOIN >= 10000", "any": "LTBCOIN > 0 or TOKENLY > 0"}, holdings)
>>> result.passed("whale"), result.passed("any")
(('alice',), ('alice', 'carol'))
>>> result.explain("whale", "bob").summary
'Needs 10,000 LTBCOIN.'
"""

from __future__ import annotations

from tca_gate.extras import require_extra

require_extra("audit", "numpy", needed_by="tca_gate.audit")

from tca_gate.errors import BalanceFileError
from tca_gate.public import publish

from ._audit import AuditResult, Holdings, audit
from ._files import FORMATS, HoldingsFormat, read_holdings

__all__ = [
    "FORMATS",
    "AuditResult",
    "BalanceFileError",
    "Holdings",
    "HoldingsFormat",
    "audit",
    "read_holdings",
]

publish(__name__, globals(), __all__)
