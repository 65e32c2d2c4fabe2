"""The optional extras as the packaging tests see them: the modules each installs, and a
statement run in a fresh interpreter with some of those modules missing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.support.data import ROOT

EXTRAS: dict[str, list[str]] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))[
    "project"
]["optional-dependencies"]
#: A distribution's top-level module, where its name does not say it.
IMPORT_NAMES = {
    "python-multipart": "python_multipart",
    "graphql-core": "graphql",
    "opentelemetry-api": "opentelemetry",
    "prometheus-client": "prometheus_client",
}


def extra_modules(extra: str) -> list[str]:
    """The top-level modules of the packages ``extra`` installs (its own list, not others')."""
    names = [re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in EXTRAS[extra]]
    return [IMPORT_NAMES.get(name, name.replace("-", "_")) for name in names]


#: Runs with the modules named in argv[1] blocked: ``sys.modules[name] = None`` makes
#: their import fail and ``importlib.util.find_spec`` find nothing, as when the package is
#: not installed. Then argv[2] runs; prints "ok", or the ImportError it raised.
BLOCKED = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
import tca_gate
URL = "redis://127.0.0.1:1"
try:
    exec(sys.argv[2])
except ImportError as error:
    print("ImportError:", error)
else:
    print("ok")
"""


def blocked(modules: list[str], statement: str) -> str:
    """What ``statement`` prints with ``modules`` missing: "ok", or its ImportError."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, ",".join(modules), statement],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
