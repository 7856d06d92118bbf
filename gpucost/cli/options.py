"""Click options shared by several commands, defined once."""

from __future__ import annotations

import math

import click

from gpucost.formatting import OUTPUT_FORMATS

snapshot_option = click.option(
    "--snapshot", "snapshot", type=click.Path(dir_okay=True, file_okay=True), default=None,
    help="Snapshot CSV file or folder to read prices from: a local path, s3://bucket/prefix, "
         "gs://bucket/prefix or an https:// file (default: $GPUCOST_SNAPSHOTS, else the "
         "newest refreshed or shipped snapshot per provider).")

calibration_option = click.option(
    "--calibration", "calibration", type=click.Path(dir_okay=False), default=None,
    help="Calibration profile from `gpucost calibrate` (default: $GPUCOST_CALIBRATION, else "
         "calibration.json in your config folder if it exists; 'none': the published model "
         "alone).")

output_option = click.option(
    "--output", "-o", "output", type=click.Choice(OUTPUT_FORMATS), default="table",
    show_default=True, help="Output format; json and csv carry every column.")


class FiniteFloatRange(click.FloatRange):
    """A float within a range, where NaN and infinities are refused too (click's own
    range lets NaN through, since every comparison with it is false)."""

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number; expected {self._describe_range()}",
                      param, ctx)
        return super().convert(number, param, ctx)
