"""``tca-gate``: check, explain, lint and format TCA rules offline, test rule sets in CI,
audit who among many holders passes them, serve a local Tokenpass sandbox, and run the
web demo.

Usage::

    tca-gate check RULE --balances JSON|@FILE|@- [--sat] [--dialect D] [--explain] [--json]
    tca-gate explain RULE --balances JSON|@FILE|@- [--sat] [--dialect D] [--json]
    tca-gate lint RULE [--dialect D] [--json] [--fail-on-warning]
    tca-gate fmt RULE --to query|expr [--dialect D]
    tca-gate test FILE [--json]
    tca-gate audit RULES --holders FILE [--format F] [--sat] [--rule NAME] [--json|--csv]
    tca-gate sandbox [--host H] [--port P] [--db PATH] [--seed FILE] [--admin-token T]
                     [--replay-protection]
    tca-gate demo [--host H] [--port P] [--sandbox-port P]

Exit codes: 0 allowed, no warnings, every test case passed; 1 denied (``check``,
``explain``) or warnings under ``--fail-on-warning`` (``lint``); 2 a usage error,
unreadable or invalid balances, a file or stdin over 4 MiB, a malformed test file;
3 a rule that does not compile or cannot be written in the form asked for; 4 a test
case failed; 70 an internal error (a bug in tca-gate, never a decision: set
``TCA_GATE_DEBUG=1`` for the traceback); 130 interrupted (Ctrl-C); 141 stdout was
closed before everything was written (``| head``: 128 + SIGPIPE, as the shell reports a
process the closed pipe stopped). Neither 130 nor 141 is a decision.

``sandbox`` serves a local Tokenpass-compatible server (OAuth, TCA checks,
addresses, promises, credits) until stopped, and prints its URL, the seeded apps'
credentials and the users' passwords; it exits 0 when stopped, 2 for a bad seed
or database file. It needs the sandbox extra (``pip install 'tca-gate[sandbox]'``).

``demo`` starts the sandbox and a web app gated by token holdings that logs in with
it, prints the URLs and the logins to try, and serves until stopped (exit 0; 2 when a
port cannot be listened on). It needs the sandbox and login extras.

Messages repeat at most 60 characters of any value they echo (a key, an amount,
a name; 120 of a file name), cutting longer ones short with "…".

Balances are a JSON object of asset name to amount, inline or read from a file
(``@path``, ``@-`` for stdin; UTF-8, a byte order mark at the start ignored).
A file or stdin is read up to 4 MiB: more is an error (exit 2) naming the option
and the limit, so ``--balances @/dev/zero`` stops at once.
Amounts are tokens, as JSON numbers or decimal strings (``"0.5"``), converted
exactly: no amount ever passes through a float. With ``--sat`` they are whole
base units (1 token = 100000000), as JSON integers or integer strings. Negative
amounts are allowed (loans can make a balance negative). Asset names are read
the way strict rules read them: the part before a ``.`` is upper-cased and a
subasset's child part is kept as written, so ``ltbcoin`` means ``LTBCOIN`` and
``ltbcoin.Gold`` means ``LTBCOIN.Gold``; two keys that name the same asset are an
error. A balance the rule does not read but whose name is close to an asset it
does read is reported on stderr as a probable typo (in either name).

Colour is used only when stdout is a terminal, ``NO_COLOR`` is unset or empty
(https://no-color.org) and ``TERM`` is not ``dumb``; ``--json`` output is never
coloured.

Test files
----------
A test file is TOML (at most 4 MiB): a table of named rules and a list of cases,
each a balance sheet and whether the rule must allow or deny it:

    # Defaults for every case (both optional).
    dialect = "strict"          # "strict" (the default) or "tokenpass"
    sat = false                 # true: balances are base units, not tokens

    [rules]                     # optional: named rules that cases refer to
    premium = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"

    [[case]]
    name = "staff get in without LTBCOIN"    # required, unique
    uses = "premium"                          # a name from [rules] ...
    balances = { LTBSTAFF = 1 }               # required; {} holds nothing
    expect = "allow"                          # "allow" or "deny"

    [[case]]
    name = "just short of the threshold"
    rule = "LTBCOIN >= 10000"                 # ... or the rule's own text
    balances = { LTBCOIN = "9999.99999999" }
    expect = "deny"

    [[case]]
    name = "legacy text, read as the Tokenpass server read it"
    rule = "LTBCOIN=1e3"
    dialect = "tokenpass"                     # overrides the file's default
    sat = true                                # overrides the file's default
    balances = { LTBCOIN = 100000000000 }
    expect = "allow"

Balances are tokens, converted exactly: integers, or decimals written as strings
("0.5"). TOML floats (0.5 unquoted) are refused, because TOML readers take them
as inexact binary floats. With sat = true they are whole base units (1 token =
100000000). Asset names are upper-cased up to any '.', as strict rules read them.
Unknown keys are errors, so a misspelt field never silently does nothing. Every
case runs and prints a PASS or FAIL line; each failure is followed by the
decision's explanation, and a closing line counts them: "3 passed, 0 failed".
"""

from ._main import main

__all__ = ["main"]
