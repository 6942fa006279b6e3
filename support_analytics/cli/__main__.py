"""``python -m support_analytics.cli``, the same as the ``support-analytics`` command."""

import sys

from support_analytics.cli import main

sys.exit(main())
