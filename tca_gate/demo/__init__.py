"""The web demo (``tca-gate demo``): a Tokenpass sandbox and a gated Starlette app.

A person logs in with Tokenpass, sees a gated page, is refused another with what they
lack, receives a promise of the missing tokens through the sandbox, and is let in.

>>> from tca_gate.demo import DemoServer
>>> import httpx2
>>> with DemoServer(port=0, sandbox_port=0) as demo:
...     page = httpx2.get(demo.url)
>>> page.status_code, "Log in with Tokenpass" in page.text
(200, True)

``run_example`` serves the apps in ``examples/`` the same way; ``BackgroundServer``
serves any ASGI app on a bound socket for the length of a ``with`` block. Needs the
``sandbox`` and ``login`` extras; ``/metrics`` (Prometheus's text format) needs the
``metrics`` extra too, and without it answers 404 naming it.
"""

from tca_gate.extras import require_extra

require_extra(
    "sandbox,login",
    "itsdangerous",
    "uvicorn",
    needed_by="tca_gate.demo (the sandbox and login extras)",
)

from tca_gate.errors import DemoError
from tca_gate.public import publish
from tca_gate.wire.serving import BackgroundServer

from ._app import DemoSettings, create_demo_app
from ._example import AppFactory, run_example
from ._offers import Offer, offers_for
from ._seed import app_urls, demo_seed
from ._server import DemoServer
from ._story import PAGES, DemoLogin, GatedPage

__all__ = [
    "PAGES",
    "AppFactory",
    "BackgroundServer",
    "DemoError",
    "DemoLogin",
    "DemoServer",
    "DemoSettings",
    "GatedPage",
    "Offer",
    "app_urls",
    "create_demo_app",
    "demo_seed",
    "offers_for",
    "run_example",
]

publish(__name__, globals(), __all__)
