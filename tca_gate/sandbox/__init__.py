"""A local Tokenpass-compatible server for tests and demos (``tca-gate sandbox``).

``SandboxServer`` runs one on loopback from Python; ``create_app`` is the ASGI app.

>>> from tca_gate.sandbox import create_app
>>> app = create_app()  # the demo seed, in memory
>>> app.state.sandbox.store.close()
"""

from tca_gate.extras import require_extra

require_extra(
    "sandbox",
    *("uvicorn", "coincurve", "base58", "python_multipart", "httpx2", "stamina"),
    needed_by="tca_gate.sandbox",
)

from tca_gate.errors import SandboxError, SeedError
from tca_gate.public import publish

from ._app import create_app
from ._seed_file import Seed, load_seed, parse_seed
from ._server import SandboxServer
from ._welcome import welcome as welcome

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
