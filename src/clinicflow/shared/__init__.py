"""Pure building blocks shared by every context: no I/O, no frameworks."""
