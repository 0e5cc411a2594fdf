"""Push and pull: tar archives streamed through the Engine API, never a whole file in memory.

`push` (push.py, its archive in push_archive.py, its staged files' cleanup in staging.py) and
`pull` (pull.py, extracted by the security-critical safe_extract.py); what both use is in
common.py, and stopping one (a token, signals, cleanups no signal cuts short) in cancel.py.
"""
