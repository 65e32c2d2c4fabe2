"""The ``sandbox`` command: serve the local Tokenpass-compatible sandbox under uvicorn."""

from __future__ import annotations

import argparse
import functools
import os

from tca_gate.wire.urls import is_loopback

from ._command import Command
from ._console import Console
from ._echo import clip_path, reason
from ._input import read_limited
from ._status import EXIT_OK, EXIT_USAGE, STOPPED_HELP, CliError

#: The environment variable that sets ``--admin-token`` without showing it in ``ps``.
ADMIN_TOKEN_VARIABLE = "TCA_GATE_SANDBOX_ADMIN_TOKEN"  # noqa: S105 (a variable's name)
_MAX_PORT = 65535


def _port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0 picks a free one); argparse reports anything else."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"{port} is not a port number from 0 to {_MAX_PORT}")
    return port


def _add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--db",
        default=":memory:",
        metavar="PATH",
        help="SQLite file that keeps the sandbox's data between runs (default: in memory)",
    )
    parser.add_argument(
        "--seed",
        metavar="FILE",
        help="TOML seed for a new database (default: the demo seed; see docs/sandbox.md)",
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get(ADMIN_TOKEN_VARIABLE),
        help=f"Bearer token guarding /sandbox/ (or set {ADMIN_TOKEN_VARIABLE}; default: none)",
    )
    parser.add_argument(
        "--counterparty",
        metavar="URL",
        help="take address balances live from this Counterparty Core API instead of the seed",
    )
    parser.add_argument(
        "--replay-protection",
        action="store_true",
        help="refuse a signed API request seen before (off: identical GETs are legitimate)",
    )


def _read_seed(path: str) -> str:
    """The seed file's text, read up to the CLI's limit on input (``load_seed`` has none)."""
    shown = clip_path(path)
    try:
        return read_limited(path, f"--seed {shown}").decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(EXIT_USAGE, f"cannot read seed file {shown}: {reason(error)}") from None


def _run_sandbox(args: argparse.Namespace, console: Console) -> int:
    try:
        from tca_gate.sandbox import (  # noqa: PLC0415 (the sandbox extra is optional)
            SeedError,
            create_app,
            load_seed,
            parse_seed,
            welcome,
        )
        from tca_gate.wire.serving import (  # noqa: PLC0415 (needs uvicorn, in that extra)
            listen,
            serve_in_foreground,
        )
    except ImportError as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    try:
        seed = load_seed() if args.seed is None else parse_seed(_read_seed(args.seed), args.seed)
        app = create_app(
            seed,
            db=args.db,
            admin_token=args.admin_token,
            replay_protection=args.replay_protection,
            counterparty=args.counterparty,
        )
    except (SeedError, ValueError, OSError) as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    try:
        listener = listen(args.host, args.port, error=functools.partial(CliError, EXIT_USAGE))
        with listener:
            port = listener.getsockname()[1]
            if args.admin_token is None and not is_loopback(args.host):
                console.warn(
                    f"{args.host} is not a loopback address and /sandbox/ has no admin token:"
                    f" anyone who can reach port {port} can set balances"
                    f" (set {ADMIN_TOKEN_VARIABLE})"
                )
            for line in welcome(app, seed, f"http://{args.host}:{port}"):
                console.say(line)
            console.out.flush()  # seen at once even when stdout is a pipe
            serve_in_foreground(app, listener, log_level="info", access_log=True)
    finally:
        app.state.sandbox.store.close()
    return EXIT_OK


_SANDBOX_EXAMPLES = f"""\
examples:
  tca-gate sandbox
  tca-gate sandbox --port 9000 --db sandbox.sqlite --seed my-seed.toml
  TCA_GATE_SANDBOX_ADMIN_TOKEN=secret tca-gate sandbox --host 0.0.0.0

On start it prints the URL, each app's client id and secret, and the users with
their passwords. The seed fills a new database only, in one transaction (a seed
that does not fit leaves no --db file behind); an existing --db file keeps its data.
Needs the sandbox extra: pip install 'tca-gate[sandbox]'.

A --host other than loopback without an admin token starts with a warning:
anyone who can reach the port can then set balances and queue faults.

exit status: 0 stopped while serving (Ctrl-C or SIGTERM), 2 usage error, a bad
seed file, or the host and port cannot be listened on (in use, not this
machine's), 70 internal error (a bug in tca-gate), {STOPPED_HELP}
"""

SANDBOX = Command(
    "sandbox",
    "serve a local Tokenpass-compatible sandbox",
    "Serve the Tokenpass API (OAuth, TCA checks, addresses, promises, credits) from a\n"
    "local SQLite database, seeded with demo users, for tests and demos.",
    _SANDBOX_EXAMPLES,
    _add_sandbox_arguments,
    _run_sandbox,
)
