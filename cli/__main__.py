"""`python -m canhgac.cli`, the same as the `canhgac` console script."""

from canhgac.cli import main

raise SystemExit(main())
