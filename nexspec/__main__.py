"""Entry point for ``python -m nexspec``."""

from nexspec.cli import main

raise SystemExit(main())
