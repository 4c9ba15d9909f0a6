"""The course's Python package: the code the chapters build, and the infrastructure they share.

Modules: `env` (device, seeds, environment report), `data` (corpora), `np_nn` (NumPy layers with
hand-written backward passes), `torch_nn` (PyTorch models), `gradcheck` (finite differences),
`exercises` (checkers), `widgets` (views that run in the browser with no kernel), `display`
(show the package's source in a chapter), `benchmark` (NumPy against torch timings).
"""

__version__ = "0.1.0"
