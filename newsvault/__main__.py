"""`python -m newsvault` is the `newsvault` command."""

from newsvault.cli import main

main()
