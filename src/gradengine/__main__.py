"""`python -m gradengine`: the same as the `gradengine` command."""

from gradengine.cli import main

raise SystemExit(main())
