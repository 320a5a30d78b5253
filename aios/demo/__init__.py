"""``aios demo``: concurrent agents through the kernel on the embedded simulated provider."""
