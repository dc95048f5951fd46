"""``python -m mtlner``: the ``mtlner`` command (:func:`mtlner.cli.main`, which hands the command
to a local run's warm process when one is serving). Jobs keep calling ``python -m mtlner.cli``."""

import sys

from mtlner.cli import main

if __name__ == "__main__":
    sys.exit(main())
