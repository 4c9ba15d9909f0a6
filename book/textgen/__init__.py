"""Text generation (chapter 5), one module per role, as nanoGPT separates model from training:

- `tokenizers`: `CharTokenizer`, `BPETokenizer`, `merge_pair`, `apply_merges`, `nanogpt_split`;
- `models`: `GPT` (built from `book.torch_nn.Block`; `forward_step` reads with a KV cache) and
  `CharLSTM`, with their configs;
- `train`: `TrainConfig`, `train`, `train_step`, `get_batch`, `estimate_loss`, `lr_at`, `Budget`;
- `checkpoint`: `save_checkpoint`, `load_checkpoint` (checked against checksums), resuming;
- `sample`: `greedy`, `apply_temperature`, `top_k_filter`, `top_p_filter`, `sample_next`,
  `generate`, and `generate_cached` (the same with a KV cache, chapter 8);
- `metrics`: `perplexity`, `bits_per_char`;
- `ngram`: `NGramLM`, the count-based baseline (add-k or Kneser-Ney smoothing), in NumPy;
- `gpt2` (chapter 6): OpenAI's GPT-2 weights in our `GPT` (`load_gpt2`, `GPT2_NAMES`,
  `GPT2_124M`), its byte-level BPE (`GPT2Tokenizer`, `byte_symbols`, `gpt2_chunks`) and
  `generate_text`;
- `settings`: `CPU_CONFIG` and `GPU_CONFIG`, used by the chapter and `benchmarks/textgen.py`,
  and `CPU_MUON_CONFIG`, the CPU benchmark's default;
- `variants` (chapter 8, imported as `book.textgen.variants`): the GPT trained with each of
  `GPTConfig`'s block options (RoPE, RMSNorm, SwiGLU, grouped-query attention) and all four,
  `compare_block_variants`, `summarize`, `format_table`, used by `benchmarks/block_variants.py`
  (the last two by chapter 9's training ablation, `book.ablation`, too).

Every name is also available from the package itself:

    from book import data, textgen as tg
    text = data.load("tinyshakespeare")
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)                                   # 65 symbols
    train_ids, val_ids = torch.tensor(tok.encode(train_text)), torch.tensor(tok.encode(val_text))
    model = tg.GPT(tg.GPTConfig(vocab_size=tok.vocab_size, **tg.CPU_CONFIG["model"]))
    log = tg.train(model, train_ids, val_ids, tg.TrainConfig(**tg.CPU_CONFIG["train"]))
    ids = tg.generate(model, torch.tensor([tok.encode("ROMEO:")]), 200, top_k=20)
    print(tok.decode(ids[0].tolist()))

Every model maps token ids (B, T) to next-token logits (B, T, V) and, given targets, the mean
cross-entropy in nats: `logits, loss = model(idx, targets)`.
"""

from book.textgen.checkpoint import CheckpointError, TrainState, load_checkpoint, save_checkpoint
from book.textgen.gpt2 import (
    EOT,
    GPT2_124M,
    GPT2_BUFFERS,
    GPT2_NAMES,
    GPT2_PATTERN,
    GPT2Tokenizer,
    byte_symbols,
    generate_text,
    gpt2_chunks,
    load_gpt2,
    load_pretrained_gpt2,
)
from book.textgen.metrics import bits_per_char, perplexity
from book.textgen.models import (
    GPT,
    MODELS,
    CharLSTM,
    CharLSTMConfig,
    GPTConfig,
    KVCache,
    lm_loss,
)
from book.textgen.ngram import NGramLM
from book.textgen.sample import (
    apply_temperature,
    generate,
    generate_cached,
    greedy,
    sample_next,
    top_k_filter,
    top_p_filter,
)
from book.textgen.settings import CPU_CONFIG, CPU_MUON_CONFIG, GPU_CONFIG
from book.textgen.tokenizers import (
    CHUNK_PATTERN,
    BPETokenizer,
    CharTokenizer,
    apply_merges,
    merge_pair,
    nanogpt_split,
    split_chunks,
)
from book.textgen.train import (
    OPTIMIZERS,
    Budget,
    TrainConfig,
    TrainLog,
    estimate_loss,
    get_batch,
    lr_at,
    make_optimizer,
    train,
    train_step,
)

__all__ = [
    "CHUNK_PATTERN", "CPU_CONFIG", "CPU_MUON_CONFIG", "EOT", "GPT", "GPT2_124M", "GPT2_BUFFERS",
    "GPT2_NAMES",
    "GPT2_PATTERN", "GPU_CONFIG", "MODELS", "BPETokenizer", "KVCache", "Budget", "CharLSTM",
    "CharLSTMConfig", "CharTokenizer", "CheckpointError", "GPT2Tokenizer", "GPTConfig",
    "NGramLM", "TrainConfig", "TrainLog", "TrainState", "apply_merges", "apply_temperature",
    "bits_per_char", "byte_symbols", "estimate_loss", "generate", "generate_cached",
    "generate_text", "get_batch",
    "gpt2_chunks", "greedy", "lm_loss", "load_checkpoint", "load_gpt2", "load_pretrained_gpt2",
    "lr_at",
    "OPTIMIZERS", "make_optimizer", "merge_pair", "nanogpt_split", "perplexity", "sample_next",
    "save_checkpoint", "split_chunks", "top_k_filter", "top_p_filter", "train", "train_step",
]
