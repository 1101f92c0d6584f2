"""chronobridge: an open, self-hosted integration hub for the DrChrono EHR."""

__version__ = "0.1.0"
