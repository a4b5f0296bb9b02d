"""Moved to keras_bertfam.bench.finetune (installed with the package; `bertfam bench finetune`)."""

from keras_bertfam.bench.finetune import main

raise SystemExit(main())
