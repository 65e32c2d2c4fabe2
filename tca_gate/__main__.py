"""``python -m tca_gate``: the ``tca-gate`` command line."""

from ._cli import main

raise SystemExit(main())
