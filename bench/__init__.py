"""The benchmark suite: ``python -m bench`` (``make bench``) runs every section and prints one table."""
