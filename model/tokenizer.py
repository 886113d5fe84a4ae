"""Sub-word tokenizer trained with Hugging Face ``tokenizers`` on the training texts.

WordPiece by default (BERT's), BPE selectable. Text is normalized as BERT does (lowercase, control
characters removed, a space put around every CJK character so Chinese splits into characters),
split on whitespace and punctuation, then into sub-words. Every encoding starts with ``[CLS]``;
``[PAD]`` fills batches and ``[UNK]`` stands for anything the vocabulary cannot spell. The file
on disk is the library's own ``tokenizer.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIAL_TOKENS = [PAD, UNK, CLS]  # ids 0, 1, 2 in that order


class TokenizerError(ValueError):
    """A tokenizer file is missing, corrupt or unusable."""


@dataclass
class Encoded:
    """One sentence as it enters the model."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]  # character span of each token in the original text
    truncated: bool  # True when the text had more tokens than the model reads


class Tokenizer:
    def __init__(self, backend: HFTokenizer):
        self.backend = backend
        for token in SPECIAL_TOKENS:
            if backend.token_to_id(token) is None:
                raise TokenizerError(f"tokenizer has no {token} token")
        self.pad_id, self.unk_id, self.cls_id = (backend.token_to_id(t) for t in SPECIAL_TOKENS)

    # ---- building -----------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, kind: str = "wordpiece") -> Tokenizer:
        if kind == "wordpiece":
            backend = HFTokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=50))
            trainer = trainers.WordPieceTrainer(
                vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=2, show_progress=False
            )
            backend.decoder = decoders.WordPiece()
        elif kind == "bpe":
            backend = HFTokenizer(models.BPE(unk_token=UNK, continuing_subword_prefix="##"))
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                special_tokens=SPECIAL_TOKENS,
                min_frequency=2,
                continuing_subword_prefix="##",
                show_progress=False,
            )
            backend.decoder = decoders.WordPiece()
        else:
            raise TokenizerError(f"tokenizer kind must be 'wordpiece' or 'bpe', got {kind!r}")
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
        )
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.train_from_iterator(list(texts), trainer=trainer)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{CLS} $A", special_tokens=[(CLS, backend.token_to_id(CLS))]
        )
        return cls(backend)

    def save(self, path: str | Path) -> None:
        self.backend.save(str(path))

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"{path.name} is missing")
        try:
            json.loads(path.read_text(encoding="utf-8"))
            backend = HFTokenizer.from_file(str(path))
        except (ValueError, UnicodeDecodeError, Exception) as exc:  # the library raises plain Exception
            raise TokenizerError(f"{path.name} is not a valid tokenizer file ({_first_line(exc)})") from None
        return cls(backend)

    # ---- using --------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    @property
    def kind(self) -> str:
        return type(self.backend.model).__name__.lower()

    def encode(self, text: str, max_len: int) -> Encoded:
        return self.encode_batch([text], max_len)[0]

    def encode_batch(self, texts: Sequence[str], max_len: int) -> list[Encoded]:
        out = []
        for enc in self.backend.encode_batch(list(texts)):
            n = len(enc.ids)
            keep = min(n, max_len)
            out.append(Encoded(enc.ids[:keep], enc.tokens[:keep], enc.offsets[:keep], truncated=n > max_len))
        return out

    def batch(self, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor, list[Encoded]]:
        """Token ids (B, T) and attention mask (B, T), padded to the longest sentence only."""
        encoded = self.encode_batch(texts, max_len)
        T = max(len(e.ids) for e in encoded)
        ids = torch.full((len(encoded), T), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), T), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[row, : len(e.ids)] = 1
        return ids, mask, encoded

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
