"""Says it is ready, then waits to be interrupted."""

import time

print("ready", flush=True)
time.sleep(60)
print("not interrupted")
