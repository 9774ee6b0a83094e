"""``python -m geoplan.cli``."""

from geoplan.cli import main

main()
