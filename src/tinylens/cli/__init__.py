"""The ``tinylens`` command line. Each command is one module here; see :mod:`tinylens.cli.main`."""
