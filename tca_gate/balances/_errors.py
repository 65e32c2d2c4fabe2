"""The errors a balance source raises: the holder is unknown, or balances cannot be read now.

TcaGateError
├── UnknownHolderError       the source does not know the holder or refused its token
├── BalanceUnavailableError  the source failed or answered nonsense; try again later
└── BalanceFileError         (also ValueError) a static balances file or mapping is wrong
"""

from __future__ import annotations

from tca_gate._errors import TcaGateError


class UnknownHolderError(TcaGateError):
    """No balances for this holder: no such user or address, or the token was refused."""


class BalanceUnavailableError(TcaGateError):
    """The balances could not be read now; a gate must refuse rather than guess."""


class BalanceFileError(TcaGateError, ValueError):
    """Static balances could not be read; ``origin`` is the file, ``where`` the entry."""

    def __init__(self, origin: str, where: str, problem: str) -> None:
        at = f" at {where}" if where else ""
        super().__init__(f"{origin}{at}: {problem}")
        self.origin = origin
        self.where = where
        self.problem = problem
