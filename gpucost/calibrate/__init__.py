"""A team's own calibration: measurements in, a profile out (``gpucost calibrate``).

- :mod:`measurements`: one measured run (shape, stack, precision, hardware, throughput),
  read from CSV, YAML or JSON lines, or a W&B / MLflow CSV export;
- :mod:`logs`: the throughput lines trainers print (torchtitan, Hugging Face Trainer,
  Megatron-LM), parsed from a log file;
- :mod:`fit`: the model's prediction for each measurement, the checks, and the factor and
  residual spread per (GPU, stack, precision);
- :mod:`store`: the profile file (the user's config folder, or a shareable ``--out``).

The performance model takes the profile in at one place:
:mod:`gpucost.performance.user_calibration`.
"""
