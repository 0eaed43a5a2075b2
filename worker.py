"""``python worker.py --jobs app.jobs --queue high,default``: a jobmodule worker, from a checkout.

The wiring (settings, connection, job modules, one Temporal worker per queue, graceful stop)
lives in ``jobmodule.worker``, so that the installed ``jobmodule work`` runs the same code.
"""

import sys

from jobmodule.worker import main

if __name__ == "__main__":
    sys.exit(main())
