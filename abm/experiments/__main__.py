"""``python -m abm.experiments sweep SWEEP.toml``: the sweep commands on their own."""

import sys

from abm.experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())
