"""Moved to keras_bertfam.bench.data (installed with the package; `bertfam bench data`)."""

from keras_bertfam.bench.data import main

raise SystemExit(main())
