"""The models' pure parts: features by name, training, calibration, evaluation and the
artifacts they are kept as. Numbers in, numbers out: no database, lake or clock."""
