"""`python -m keras_bertfam.cli` runs the `bertfam` command."""

import sys

from keras_bertfam.cli import main

sys.exit(main())
