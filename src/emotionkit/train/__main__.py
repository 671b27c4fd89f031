"""``python -m emotionkit.train`` runs ``emotionkit-train``."""

from emotionkit.train.cli import main

raise SystemExit(main())
