"""A local Tokenpass-compatible server for tests and demos (``tca-gate sandbox``).

``SandboxServer`` runs one on loopback from Python; ``create_app`` is the ASGI app.

>>> from tca_gate.sandbox import create_app
>>> app = create_app()  # the demo seed, in memory
>>> app.state.sandbox.store.close()
"""

from importlib.util import find_spec

_EXTRA = ("uvicorn", "coincurve", "base58", "python_multipart", "httpx2", "stamina")
_missing = [name for name in _EXTRA if find_spec(name) is None]
if _missing:
    raise ImportError(
        f"tca_gate.sandbox needs {', '.join(_missing)}: pip install 'tca-gate[sandbox]'"
    )

from tca_gate.errors import SandboxError, SeedError  # noqa: E402 (after the dependency check)
from tca_gate.public import publish  # noqa: E402

from ._app import create_app  # noqa: E402
from ._seed_file import Seed, load_seed, parse_seed  # noqa: E402
from ._server import SandboxServer  # noqa: E402
from ._welcome import welcome as welcome  # noqa: E402 (for the command line; not in __all__)

__all__ = [
    "SandboxError",
    "SandboxServer",
    "Seed",
    "SeedError",
    "create_app",
    "load_seed",
    "parse_seed",
]

publish(__name__, globals(), __all__)
