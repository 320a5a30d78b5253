"""``aios bench``: framework agents with and without aios, side by side in one run."""
