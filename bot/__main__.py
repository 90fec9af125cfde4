"""``python -m bot``: the same as the ``eln-bot`` command."""

from bot.cli import main

raise SystemExit(main())
