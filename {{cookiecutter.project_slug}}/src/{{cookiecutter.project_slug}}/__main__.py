"""`python -m {{ cookiecutter.project_slug }}`: the service's commands (commands.py)."""

from .commands import main

raise SystemExit(main())
