"""`python -m newsvault` is the `newsvault` command."""

from newsvault.entry import main

main()
