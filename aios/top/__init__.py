"""``aios top``: a live view of a running kernel, over any source of snapshots (``source``)."""
