"""`python -m service.cli`: the same as the `deadzone` command."""

from service.cli import main

main()
