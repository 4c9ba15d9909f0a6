"""The course's Python package: the code the chapters build, and the infrastructure they share.

Modules: `env` (device, seeds, environment report), `data` (corpora), `text` (tokenizer,
vocabulary, padded batches), `word2vec` (skip-gram and count-based word vectors), `concepts`
(chapter 2's experiments), `np_nn` (NumPy layers with hand-written backward passes, the MLP, Adam),
`torch_nn` (PyTorch models), `symbolic` (SymPy derivations), `autograd` (a scalar autograd
engine; `autograd_draw` draws its graphs), `descent` (gradient descent paths), `optim` (AdamW
set-up and learning-rate schedule), `classify` (text classifiers), `textgen` (tokenizers, language
models, training and sampling for text generation), `metrics` (BLEU, entity F1, recall@k),
`tagging` (BiLSTM-CRF tagger), `retrieval` (TF-IDF, BM25, word-vector search), `translate`
(English -> Chinese encoder-decoders, beam search), `gradcheck` (finite differences), `exercises`
(checkers), `widgets` (views that run in the browser with no kernel), `display` (show the package's
source in a chapter), `timing` (NumPy against torch timings), `debugging` (activation hooks,
NaN hunting, update ratios, causality and gradient checks, loss-curve verdicts,
reproducibility), `runlog` (training runs logged to TensorBoard event files and read back),
`profiling` (cProfile, line_profiler, gprof2dot and torch.profiler on the course's own
models), `compare` (chapter 9: language models at an equal compute budget; a generative
classifier against a discriminative one), `datasize` (learning curves against the amount of
data, tokens per parameter), `ablation` (the learning-rate range test and chapter 5's training
recipe ablated one knob at a time, with seeds). tests/test_layers.py fixes which may import
which.
"""

__version__ = "0.1.0"
