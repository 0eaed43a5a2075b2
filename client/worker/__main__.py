"""``python -m jobmodule.worker``: a worker process (``--processes`` starts its children so)."""

import sys

from jobmodule.worker.main import main

sys.exit(main())
