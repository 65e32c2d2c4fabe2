"""The ``demo`` command: the web demo, a Tokenpass sandbox and a gated app, until Ctrl-C."""

from __future__ import annotations

import argparse

from ._command import Command
from ._console import Console
from ._sandbox import _port
from ._status import EXIT_OK, EXIT_USAGE, CliError


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the app listens on (127.0.0.1)"
    )
    parser.add_argument("--port", type=_port, default=8000, help="the app's port (8000)")
    parser.add_argument(
        "--sandbox-port",
        type=_port,
        default=8001,
        metavar="PORT",
        help="the Tokenpass sandbox's port, on 127.0.0.1 (8001)",
    )
    parser.add_argument(
        "--counterparty",
        metavar="URL",
        help="the sandbox takes address balances live from this Counterparty Core API",
    )


def _run_demo(args: argparse.Namespace, console: Console) -> int:
    try:
        from tca_gate.demo import DemoError, DemoServer  # noqa: PLC0415 (optional extras)
    except ImportError as error:
        raise CliError(EXIT_USAGE, str(error)) from None

    def announce(demo: DemoServer) -> None:
        for line in demo.welcome():
            console.say(line)
        console.out.flush()  # seen at once even when stdout is a pipe

    try:
        DemoServer(
            host=args.host,
            port=args.port,
            sandbox_port=args.sandbox_port,
            counterparty=args.counterparty,
        ).run(announce)
    except DemoError as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    except KeyboardInterrupt:  # Ctrl-C while starting: everything started is stopped
        pass
    return EXIT_OK


_DEMO_EXAMPLES = """\
examples:
  tca-gate demo
  tca-gate demo --port 9000 --sandbox-port 9001
  tca-gate demo --counterparty https://api.counterparty.io:4000

Open the URL it prints, log in with Tokenpass (on the sandbox's page) as bob with
the password bob-password: the lounge lets him in, the members' page refuses him
with what he lacks, and its "Receive 1,200 LTBCOIN" button has the sandbox promise
him the tokens, after which the members' page lets him in. alice passes both
pages, carol neither. The sandbox lives in memory: each run starts afresh. With
--counterparty, the sandbox reads its addresses' balances from that Counterparty
Core node (live, cached briefly) instead of the demo seed's figures.
Needs the sandbox and login extras: pip install 'tca-gate[sandbox,login]'.

exit status: 0 stopped (Ctrl-C or SIGTERM), 2 usage error or a port that cannot
be listened on (in use, not this machine's), 70 internal error (a bug in tca-gate)
"""

DEMO = Command(
    "demo",
    "run the web demo: a Tokenpass sandbox and a token-gated app",
    "Start a Tokenpass sandbox seeded with demo users and a web app whose pages are\n"
    "gated by token holdings, and print the URLs and the logins to try.",
    _DEMO_EXAMPLES,
    _add_demo_arguments,
    _run_demo,
)
