"""``python -m pinner`` runs the command line."""

from pinner.cli import main

if __name__ == "__main__":
    main()
