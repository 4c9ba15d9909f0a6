"""The course's Python package: the code the chapters build, and the infrastructure they share.

Modules: `env` (device, seeds, environment report), `data` (corpora), `exercises` (checkers),
`widgets` (views that run in the browser with no kernel).
"""

__version__ = "0.1.0"
