"""``python -m forecasting``: the command-line interface."""
import sys

from forecasting.cli import main

sys.exit(main())
