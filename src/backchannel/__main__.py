"""``python -m backchannel``: the same as the ``backchannel`` console script."""

from backchannel.cli import main

main(prog_name="backchannel")
