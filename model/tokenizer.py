"""Sub-word tokenizer trained with Hugging Face ``tokenizers`` on the training texts.

WordPiece by default (BERT's), BPE selectable. Text is normalized as BERT does (lowercase, control
characters removed), split on whitespace and punctuation, then into sub-words. Chinese, written
without spaces, is cut the same way: the learner finds its frequent words (酒店, 不错, 再也不会)
as it finds English ones, and a rare character stays a token of its own. (BERT put a space around
every Chinese character instead, so 不 in 不错 and in 不畅 was one token the model had to pair
with its neighbour; checkpoints made that way keep their own normaliser.) Every encoding starts
with ``[CLS]``; ``[PAD]`` fills batches and ``[UNK]`` stands for anything the vocabulary cannot
spell. The file on disk is the library's own ``tokenizer.json``. ``read`` and ``coverage`` say
how much of a text, or of a whole data set, the vocabulary holds as whole words.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import Tokenizer as HFTokenizer

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIAL_TOKENS = [PAD, UNK, CLS]  # ids 0, 1, 2 in that order


# A text is "mostly unreadable" when more than half of its words are not whole vocabulary tokens
# (split into ##pieces, or [UNK]): most of what the model then sees are fragments it learned little
# about, or nothing at all, so its prediction says more about its vocabulary than about the text.
MOSTLY_UNREADABLE = 0.5


def _bert_normalizer(split_chinese: bool = False) -> normalizers.BertNormalizer:
    """BERT's normaliser: control characters out, lower case; ``split_chinese`` puts a space around
    every CJK character, as BERT does, so that each is a word of its own."""
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=split_chinese, strip_accents=False, lowercase=True
    )


_PRE_TOKENIZER = pre_tokenizers.BertPreTokenizer()
_CHARACTER_NORMALIZER = _bert_normalizer(split_chinese=True)

# A "word" longer than this is one [UNK]; a Chinese clause without punctuation is one word here.
MAX_WORD_CHARS = 100


def _pre_words(text: str, normalizer: normalizers.BertNormalizer) -> list[str]:
    return [word for word, _ in _PRE_TOKENIZER.pre_tokenize_str(normalizer.normalize_str(text))]


def words(text: str) -> list[str]:
    """The words the bag-of-words baseline counts: normalised, split on spaces and punctuation, every
    Chinese character a word of its own (its word pairs then hold the two-character words)."""
    return _pre_words(text, _CHARACTER_NORMALIZER)


# The English sentence of each TokenizerError, as the command line prints it; the app words the same
# code in the page's language (assets/i18n: error_<code>).
MESSAGES = {
    "no_special_token": "tokenizer has no {token} token",
    "tokenizer_kind": "tokenizer kind must be 'wordpiece' or 'bpe', got {kind!r}",
    "tokenizer_missing": "{file} is missing",
    "tokenizer_invalid": "{file} is not a valid tokenizer file ({detail})",
}


class TokenizerError(ValueError):
    """A tokenizer file is missing, corrupt or unusable. ``code`` names the problem and ``values`` fill in
    its sentence (MESSAGES, the English of the command line); the app says the same in the page's language."""

    def __init__(self, message: str = "", *, code: str | None = None, **values: object) -> None:
        self.code, self.values = code, values
        super().__init__(message or MESSAGES[code].format(**values))


@dataclass
class Encoded:
    """One sentence as it enters the model."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]  # character span of each token in the original text
    length: int  # tokens the whole text has, before truncation

    @property
    def truncated(self) -> bool:
        """True when the text had more tokens than the model reads."""
        return self.length > len(self.ids)


class Tokenizer:
    def __init__(self, backend: HFTokenizer):
        self.backend = backend
        for token in SPECIAL_TOKENS:
            if backend.token_to_id(token) is None:
                raise TokenizerError(code="no_special_token", token=token)
        self.pad_id, self.unk_id, self.cls_id = (backend.token_to_id(t) for t in SPECIAL_TOKENS)

    # ---- building -----------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, kind: str = "wordpiece") -> Tokenizer:
        if kind not in ("wordpiece", "bpe"):
            raise TokenizerError(code="tokenizer_kind", kind=kind)
        texts = list(texts)
        normalizer, pre_tokenizer = _bert_normalizer(), pre_tokenizers.BertPreTokenizer()
        # The library's trainer creates "##x" tokens lazily in hash-map order, and their ids break
        # ties between merges, so the same texts can give a different vocabulary on each run
        # (huggingface/tokenizers#1794). Registering every "##x" up front, in sorted order, fixes
        # their ids and makes training reproducible; they are ordinary vocabulary afterwards.
        continuations = sorted(
            {f"##{ch}" for text in texts for word in _pre_words(text, normalizer) for ch in word[1:]}
        )
        if kind == "wordpiece":
            backend = HFTokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=MAX_WORD_CHARS))
            trainer = trainers.WordPieceTrainer(
                vocab_size=vocab_size,
                special_tokens=SPECIAL_TOKENS + continuations,
                min_frequency=2,
                show_progress=False,
            )
        else:
            backend = HFTokenizer(models.BPE(unk_token=UNK, continuing_subword_prefix="##"))
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                special_tokens=SPECIAL_TOKENS + continuations,
                min_frequency=2,
                continuing_subword_prefix="##",
                show_progress=False,
            )
        backend.decoder = decoders.WordPiece()
        backend.normalizer = normalizer
        backend.pre_tokenizer = pre_tokenizer
        backend.train_from_iterator(texts, trainer=trainer)
        backend = _canonical_ids(backend)
        backend.pre_tokenizer = _isolating_unknown_chinese(backend, pre_tokenizer)
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
            raise TokenizerError(code="tokenizer_missing", file=path.name)
        try:
            json.loads(path.read_text(encoding="utf-8"))
            backend = HFTokenizer.from_file(str(path))
        except (ValueError, UnicodeDecodeError, Exception) as exc:  # the library raises plain Exception
            raise TokenizerError(code="tokenizer_invalid", file=path.name, detail=_first_line(exc)) from None
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
            out.append(Encoded(enc.ids[:keep], enc.tokens[:keep], enc.offsets[:keep], length=n))
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

    # ---- how well the vocabulary reads a text -------------------------------------------------
    def read(self, text: str) -> Reading:
        """Each word of ``text``: a whole vocabulary token, ##pieces, or unknown."""
        return self.read_batch([text])[0]

    def read_batch(self, texts: Sequence[str]) -> list[Reading]:
        """``read`` for many texts, encoded in one batch. The whole text is read, however long."""
        out = []
        for text, enc in zip(texts, self.backend.encode_batch(list(texts), add_special_tokens=False)):
            ids, tokens, offsets = enc.ids, enc.tokens, enc.offsets  # each access builds a new list
            spans: dict[int, list[int]] = {}  # word number -> its tokens' positions, in order
            for position, word in enumerate(enc.word_ids):
                if word is not None:
                    spans.setdefault(word, []).append(position)
            words = []
            for positions in spans.values():
                written = text[offsets[positions[0]][0] : offsets[positions[-1]][1]]
                if _has_chinese(written):  # no spaces: each token is a word the learner found, not a fragment
                    for p in positions:
                        status = "unknown" if ids[p] == self.unk_id else "whole"
                        words.append(WordReading(text[offsets[p][0] : offsets[p][1]], (tokens[p],), status))
                elif not _is_punctuation(written):
                    unknown = any(ids[p] == self.unk_id for p in positions)
                    status = "unknown" if unknown else "whole" if len(positions) == 1 else "pieces"
                    words.append(WordReading(word=written, tokens=tuple(tokens[p] for p in positions), status=status))
            out.append(Reading(words))
        return out

    def coverage(self, texts: Sequence[str], n_examples: int = 8) -> Coverage:
        """How much of ``texts`` (every running word, repeats included) the vocabulary holds whole,
        with the ``n_examples`` most frequent words it reads only in pieces, and not at all."""
        counts = Counter()
        missed = {"pieces": Counter(), "unknown": Counter()}  # (lowercased word, its tokens) -> occurrences
        for reading in self.read_batch(texts):
            for w in reading.words:
                counts[w.status] += 1
                if w.status != "whole":
                    missed[w.status][w.word.lower(), w.tokens] += 1

        def frequent(status: str) -> list[WordCount]:
            top = missed[status].most_common(n_examples)
            return [WordCount(word=word, tokens=tokens, count=n) for (word, tokens), n in top]

        return Coverage(
            whole=counts["whole"],
            pieces=counts["pieces"],
            unknown=counts["unknown"],
            frequent_pieces=frequent("pieces"),
            frequent_unknown=frequent("unknown"),
        )


@dataclass(frozen=True)
class WordReading:
    """One word of a text as the vocabulary reads it."""

    word: str  # as written in the text
    tokens: tuple[str, ...]  # the tokens it became: ("movie",), ("r", "##ude"), ("[UNK]",)
    status: str  # "whole" (one vocabulary token), "pieces" (several ##pieces) or "unknown" (has an [UNK])


@dataclass
class Reading:
    """A text's words as the tokenizer's normaliser and pre-tokenizer split it, each as the vocabulary
    reads it. In Chinese each token is a word (a piece of a run of characters is a word the
    vocabulary holds, not a fragment); punctuation marks are not words."""

    words: list[WordReading]

    @property
    def unreadable(self) -> list[WordReading]:
        """The words the model reads only in pieces or not at all, in the text's order."""
        return [w for w in self.words if w.status != "whole"]

    @property
    def mostly_unreadable(self) -> bool:
        return len(self.unreadable) > MOSTLY_UNREADABLE * len(self.words)


@dataclass(frozen=True)
class WordCount:
    word: str  # lowercased, as the vocabulary sees it
    tokens: tuple[str, ...]
    count: int  # how often it occurs in the texts


@dataclass
class Coverage:
    """A vocabulary's coverage of many texts, counted over running words (a word twice counts twice)."""

    whole: int
    pieces: int
    unknown: int
    frequent_pieces: list[WordCount]  # the most frequent words read only in pieces, most frequent first
    frequent_unknown: list[WordCount]  # the same for words with an [UNK]

    @property
    def words(self) -> int:
        return self.whole + self.pieces + self.unknown

    def share(self, status: str) -> float:
        """The fraction of running words with this status ("whole", "pieces" or "unknown"); 0 for no words."""
        return getattr(self, status) / self.words if self.words else 0.0


# Chinese characters: the code points of the Han script (Unicode's \p{Han}: radicals, 々〇, the ideographs).
_CHINESE = (
    (0x2E80, 0x2FDF),
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)


def _has_chinese(word: str) -> bool:
    """Whether a word holds a Chinese character."""
    return any(low <= ord(ch) <= high for ch in word for low, high in _CHINESE)


def _is_punctuation(word: str) -> bool:
    """Punctuation as BERT's pre-tokenizer splits it off: any ASCII character that is not a letter or
    digit, and Unicode punctuation (，。！ too)."""
    if word[:1].isalnum():  # most words: no need to look further
        return False
    return all((ch.isascii() and not ch.isalnum()) or unicodedata.category(ch).startswith("P") for ch in word)


def _isolating_unknown_chinese(backend: HFTokenizer, pre_tokenizer: pre_tokenizers.PreTokenizer):
    """The pre-tokenizer, then every Chinese character the vocabulary lacks split off as a word.

    WordPiece makes a whole word [UNK] when one of its characters is unknown, and a Chinese "word"
    here is a run of characters up to the next punctuation mark: one rare character would hide
    its whole clause. Split off, it alone becomes [UNK].
    """
    known = sorted({t.removeprefix("##") for t in backend.get_vocab() if len(t.removeprefix("##")) == 1})
    known = "".join(ch for ch in known if _has_chinese(ch))
    if not known:
        return pre_tokenizer
    chinese = "".join(f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in _CHINESE)
    unknown = Regex(f"[[{chinese}]&&[^{known}]]")  # a Chinese character not in the vocabulary
    return pre_tokenizers.Sequence([pre_tokenizer, pre_tokenizers.Split(unknown, "isolated")])


def _canonical_ids(backend: HFTokenizer) -> HFTokenizer:
    """Renumber the vocabulary in a fixed order: special tokens, whole words, then ##pieces.

    The library's trainer numbers tokens in hash-map order, which changes from run to run; a
    fixed numbering makes training reproducible for a given seed.
    """
    data = json.loads(backend.to_str())
    vocab = data["model"]["vocab"]
    rest = sorted((t for t in vocab if t not in SPECIAL_TOKENS), key=lambda t: (t.startswith("##"), t))
    renumbered = {t: i for i, t in enumerate(SPECIAL_TOKENS + rest)}
    data["model"]["vocab"] = renumbered
    # Only the three real special tokens stay "added tokens"; the "##x" ones were scaffolding.
    data["added_tokens"] = [a for a in data.get("added_tokens", []) if a["content"] in SPECIAL_TOKENS]
    for added in data["added_tokens"]:
        added["id"] = renumbered[added["content"]]
    return HFTokenizer.from_str(json.dumps(data))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
