"""``python -m purejaxppo``."""

import sys

from purejaxppo.cli import main

sys.exit(main())
