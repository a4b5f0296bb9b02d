"""Moved to keras_bertfam.bench.core (installed with the package; `bertfam bench core`)."""

from keras_bertfam.bench.core import main

raise SystemExit(main())
