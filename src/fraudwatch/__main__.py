"""``python -m fraudwatch`` runs the command-line front."""

from fraudwatch.cli import main

main()
