"""The embedded Temporal dev server and ``jobmodule dev``."""
