"""``python -m tca_gate``: the ``tca-gate`` command line."""

from .cli import main

raise SystemExit(main())
