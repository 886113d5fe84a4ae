"""The bag-of-words baseline shown beside every trained model: what it can and cannot see."""

import random

import pytest

from model.baseline import bag_of_words, baseline_metrics, words
from model.data import Dataset


def test_words_are_cut_as_the_tokenizer_cuts_them_before_subwords():
    assert words("The staff were RUDE, weren't they?") == [
        "the",
        "staff",
        "were",
        "rude",
        ",",
        "weren",
        "'",
        "t",
        "they",
        "?",
    ]
    assert words("服务很差！") == ["服", "务", "很", "差", "！"]  # every Chinese character a word


def _sentences(rng, n, make):
    texts, labels = [], []
    for i in range(n):
        text, label = make(rng, i % 2)
        texts.append(text)
        labels.append(label)
    return Dataset(texts, labels, ["a", "b"])


FILLER = "the a of to and in it is was that this for on with as at by from".split()


def test_it_learns_which_words_decide():
    def make(rng, label):
        words_ = rng.choices(FILLER, k=8) + [rng.choice(["great", "lovely"] if label else ["awful", "dull"])]
        rng.shuffle(words_)
        return " ".join(words_), label

    rng = random.Random(0)
    result = bag_of_words(_sentences(rng, 400, make), _sentences(rng, 100, make))
    assert result.valid_accuracy == 1.0 and result.train_accuracy == 1.0
    assert result.n_features > len(FILLER)  # words and word pairs
    assert set(result.to_json()) == {"valid_accuracy", "train_accuracy", "n_features", "seconds"}


def test_it_cannot_see_order_beyond_neighbouring_pairs():
    # the label is whether "x" comes before "y", with filler between them: the same words either way,
    # and no pair of neighbours tells. Word counting is at chance; a model that reads order is not.
    def make(rng, label):
        gap = rng.choices(FILLER, k=rng.randint(2, 5))
        first, second = ("x", "y") if label else ("y", "x")
        return " ".join([*rng.choices(FILLER, k=2), first, *gap, second, *rng.choices(FILLER, k=2)]), label

    rng = random.Random(1)
    result = bag_of_words(_sentences(rng, 600, make), _sentences(rng, 400, make))
    assert 0.35 < result.valid_accuracy < 0.65


def test_one_class_in_training_gives_no_baseline_instead_of_an_error():
    one = Dataset(["good", "fine", "nice"], [1, 1, 1], ["neg", "pos"])
    with pytest.raises(ValueError):
        bag_of_words(one, one)
    assert baseline_metrics(one, one) is None
