"""The ``jobmodule`` command line."""
