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


def test_chinese_is_cut_into_the_words_the_learner_found_never_unknown():
    # 喜欢 and 不错 are frequent here, so the learner keeps them whole; 我 and 书 stay characters
    texts = ["我喜欢这本书", "不错，我喜欢", "很不错的书", "喜欢！不错！"] * 5 + ["我不喜欢这本书"]
    tok = Tokenizer.train(texts, vocab_size=60)
    enc = tok.encode("我不喜欢这本书", max_len=64)
    assert tok.unk_id not in enc.ids
    assert "".join(t.removeprefix("##") for t in enc.tokens[1:]) == "我不喜欢这本书"
    assert "##喜欢" in enc.tokens or "喜欢" in enc.tokens  # a word, not two characters
    assert tok.encode("不错", max_len=8).tokens[1:] == ["不错"]
    # the reading counts each token as a word the vocabulary holds: never "pieces" in Chinese
    reading = tok.read("我不喜欢这本书。")
    assert "".join(w.word for w in reading.words) == "我不喜欢这本书"
    assert all(w.status == "whole" for w in reading.words) and len(reading.words) < 7


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


# ---- how well the vocabulary reads a text ------------------------------------------------------
# The conftest tokenizer learned from its TEXTS only: "love" is a word of them, "rude" is not (but its
# letters are), and "ʘ", "爱" and "你" appear nowhere in them.


def test_reading_says_which_words_are_whole_in_pieces_or_unknown(tokenizer):
    reading = tokenizer.read("I love rude ʘʘ!")
    assert [(w.word, w.status) for w in reading.words] == [
        ("I", "whole"),
        ("love", "whole"),
        ("rude", "pieces"),
        ("ʘʘ", "unknown"),
    ]
    assert reading.words[0].tokens == ("i",) and reading.words[1].tokens == ("love",)  # as written, read lowercased
    rude = reading.words[2].tokens
    assert len(rude) > 1 and not rude[0].startswith("##") and all(piece.startswith("##") for piece in rude[1:])
    assert "".join(piece.removeprefix("##") for piece in rude) == "rude"
    assert reading.words[3].tokens == ("[UNK]",)
    assert [w.word for w in reading.unreadable] == ["rude", "ʘʘ"]
    assert not reading.mostly_unreadable  # 2 of 4 words: not more than half


def test_chinese_tokens_are_words_unknown_characters_stand_alone_punctuation_is_not(tokenizer):
    reading = tokenizer.read("我不喜欢这本书。")
    assert "".join(w.word for w in reading.words) == "我不喜欢这本书"  # the full stop is not a word
    assert all(w.status == "whole" for w in reading.words) and not reading.mostly_unreadable
    # 爱 and 你 are in none of the training texts: each alone is [UNK], 我 is still read
    reading = tokenizer.read("我爱你！")
    assert [(w.word, w.tokens, w.status) for w in reading.words] == [
        ("我", ("我",), "whole"),
        ("爱", ("[UNK]",), "unknown"),
        ("你", ("[UNK]",), "unknown"),
    ]
    assert reading.mostly_unreadable  # 2 of 3
    enc = tokenizer.encode("我爱这本书", max_len=16)  # one unknown character hides only itself
    assert (
        enc.tokens.count("[UNK]") == 1
        and "".join(t.removeprefix("##") for t in enc.tokens[1:] if t != "[UNK]") == "我这本书"
    )
    assert tokenizer.read("love!!! ...").words == tokenizer.read("love").words


def test_mostly_unreadable_means_more_than_half_of_the_words(tokenizer):
    assert not tokenizer.read("love ʘ").mostly_unreadable  # 1 of 2
    assert tokenizer.read("love ʘ rude").mostly_unreadable  # 2 of 3
    assert tokenizer.read("rude").mostly_unreadable  # pieces count as not read whole
    assert not tokenizer.read("!!!").mostly_unreadable  # no words at all: nothing to warn about
    assert tokenizer.read_batch(["love ʘ rude", "love"]) == [tokenizer.read("love ʘ rude"), tokenizer.read("love")]


def test_a_bpe_word_with_one_unknown_character_is_unknown():
    from tests.conftest import TEXTS

    bpe = Tokenizer.train(TEXTS, vocab_size=300, kind="bpe")
    (word,) = bpe.read("loveʘ").words
    assert word.status == "unknown" and "[UNK]" in word.tokens and len(word.tokens) > 1


def test_coverage_counts_running_words_and_names_the_most_frequent_misses(tokenizer):
    texts = ["I love this movie!", "love rude ʘʘ", "Rude ʘʘ ʘʘ", "good ʘʘ", "我爱"]
    cov = tokenizer.coverage(texts)
    # whole: I love this movie, love, good, 我; pieces: rude, Rude; unknown: ʘʘ four times, 爱
    assert (cov.whole, cov.pieces, cov.unknown, cov.words) == (7, 2, 5, 14)
    assert [cov.share(s) for s in ("whole", "pieces", "unknown")] == [7 / 14, 2 / 14, 5 / 14]
    rude = tokenizer.read("rude").words[0].tokens
    assert [(w.word, w.tokens, w.count) for w in cov.frequent_pieces] == [("rude", rude, 2)]  # Rude is rude
    assert [(w.word, w.tokens, w.count) for w in cov.frequent_unknown] == [("ʘʘ", ("[UNK]",), 4), ("爱", ("[UNK]",), 1)]
    assert tokenizer.coverage(texts, n_examples=1).frequent_unknown[0].word == "ʘʘ"
    empty = tokenizer.coverage([])
    assert empty.words == 0 and empty.share("whole") == 0.0 and not empty.frequent_unknown
