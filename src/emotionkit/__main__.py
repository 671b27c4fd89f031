"""``python -m emotionkit`` runs the ``emotionkit`` command line."""

from emotionkit.cli import main

raise SystemExit(main())
