"""clinicflow: runs a multi-service wellness clinic end to end."""

__version__ = "0.1.0"
