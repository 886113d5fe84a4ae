import pytest

from model.tokenizer import CLS, Tokenizer, TokenizerError


def _surface(text, enc):
    return [text[a:b] for (a, b), t in zip(enc.offsets, enc.tokens) if t != CLS]


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
@pytest.mark.parametrize(
    "text", ["She doesn't like this book.", "I love this movie!", "这部电影非常好看。", "服务很差，但是菜很好吃"]
)
def test_round_trip_english_and_chinese(tokenizer, kind, text):
    from tests.conftest import TEXTS

    tok = tokenizer if kind == "wordpiece" else Tokenizer.train(TEXTS, vocab_size=300, kind="bpe")
    enc = tok.encode(text, max_len=64)
    assert enc.tokens[0] == CLS and enc.ids[0] == tok.cls_id
    assert tok.unk_id not in enc.ids, f"{kind} produced [UNK] for {text!r}: {enc.tokens}"
    # every token maps back to its own characters of the original text ...
    for token, piece in zip(enc.tokens[1:], _surface(text, enc)):
        assert token.removeprefix("##") == piece.lower()
    # ... and decoding gives the text back, up to spaces and case
    assert tok.decode(enc.ids).replace(" ", "") == text.lower().replace(" ", "")


def test_chinese_is_split_into_characters_not_unknown(tokenizer):
    enc = tokenizer.encode("我不喜欢这本书", max_len=64)
    assert enc.tokens[1:] == list("我不喜欢这本书")


def test_unknown_characters_become_unk_and_truncation_is_flagged(tokenizer):
    enc = tokenizer.encode("ʘʘʘ", max_len=64)
    assert tokenizer.unk_id in enc.ids
    long = tokenizer.encode("good " * 100, max_len=10)
    assert len(long.ids) == 10 and long.truncated
    assert not tokenizer.encode("good", max_len=10).truncated


def test_batch_pads_only_to_the_longest(tokenizer):
    ids, mask, _ = tokenizer.batch(["good", "I love this movie!"], max_len=64)
    assert ids.shape == (2, 6)  # [CLS] i love this movie !
    assert mask.tolist() == [[1, 1, 0, 0, 0, 0], [1] * 6]
    assert (ids[0, 2:] == tokenizer.pad_id).all()


def test_save_and_load_give_the_same_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tokenizer.json")
    again = Tokenizer.load(tmp_path / "tokenizer.json")
    for text in ["I love this movie!", "这部电影非常好看。"]:
        assert again.encode(text, 64).ids == tokenizer.encode(text, 64).ids


def test_corrupt_tokenizer_file_is_refused(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"not": "a tokenizer"}')
    with pytest.raises(TokenizerError, match="not a valid tokenizer"):
        Tokenizer.load(bad)
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(TokenizerError):
        Tokenizer.load(bad)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_training_the_tokenizer_is_reproducible(kind):
    """Guards our workaround for huggingface/tokenizers#1794 (hash-map order breaking merge ties)."""
    from model.data import load_builtin

    texts = load_builtin("negation").train.texts
    first = Tokenizer.train(texts, 1000, kind).backend.to_str()
    for _ in range(3):
        assert Tokenizer.train(texts, 1000, kind).backend.to_str() == first
