"""newsvault: keep news from disappearing.

The flow (see DESIGN.md): sources -> fetch -> captures -> feeds -> normalize -> store -> publish.
Importing the package has no side effects.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
