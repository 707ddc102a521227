"""When the original is gone: copies looked for in the web archives (recover/copies.py,
recover/recovery.py), recovery queued on its own where recover.auto is on (recover/queue.py),
and newly archived URLs given to the Wayback Machine's Save Page Now (recover/save.py)."""
