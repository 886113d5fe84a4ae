"""Benchmarks (`python -m bench`) and the classroom load test (`python -m bench.load`)."""

import argparse


def within(kind, low, high):
    """An argparse type: a number of ``kind`` from ``low`` to ``high``, else a one-line error."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is out of range: choose {low} to {high}")
        return value

    return parse
