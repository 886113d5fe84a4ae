"""Writes the built-in datasets in ``assets/datasets`` from seeded templates (no downloaded corpora).

    python -m model make-datasets      # rewrites assets/datasets/*, byte for byte the same

Four sets: English and Chinese sentiment (reviews of films, books, food and products, with
negation, intensifiers and contrast), and two synthetic tasks whose right attention is known in
advance: ``colour`` (the deciding token is the colour word) and ``negation`` (the deciding tokens
are the adjective and the "not" right before it).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from .data import DATASETS_DIR

# The article's own examples are held out of every training set, so the bundled model's
# answer on them is generalisation, not memory.
ARTICLE_EXAMPLES = {"I love this movie!": "positive", "She doesn't like this book.": "negative"}

# ---- English sentiment ------------------------------------------------------------------------

EN_TOPICS = {
    "film": (["movie", "film", "documentary", "comedy", "thriller", "cartoon", "sequel", "series"],
             ["plot", "acting", "ending", "soundtrack", "script", "dialogue", "pacing", "cast", "story"]),
    "book": (["book", "novel", "memoir", "cookbook", "poem", "comic", "biography", "story collection"],
             ["writing", "ending", "first chapter", "main character", "story", "translation", "prose"]),
    "food": (["restaurant", "pizza", "soup", "burger", "cake", "coffee", "noodle bar", "bakery", "salad"],
             ["service", "sauce", "portion", "price", "dessert", "staff", "bread", "menu", "taste"]),
    "product": (["phone", "laptop", "headset", "camera", "blender", "backpack", "keyboard", "lamp", "watch"],
                ["battery", "screen", "price", "sound", "design", "manual", "charger", "build quality", "app"]),
}  # fmt: skip
EN_POS_ADJ = [
    "good",
    "great",
    "excellent",
    "wonderful",
    "brilliant",
    "delightful",
    "fantastic",
    "lovely",
    "superb",
    "enjoyable",
    "charming",
    "impressive",
    "moving",
    "solid",
    "fun",
    "beautiful",
    "perfect",
]
EN_NEG_ADJ = [
    "bad",
    "terrible",
    "awful",
    "boring",
    "dull",
    "disappointing",
    "poor",
    "weak",
    "horrible",
    "mediocre",
    "bland",
    "annoying",
    "painful",
    "forgettable",
    "sloppy",
    "messy",
    "useless",
]
EN_NEG_ATTR = ["long", "slow", "loud", "expensive", "salty", "short", "heavy", "complicated", "predictable"]
EN_INTENS = ["", "", "really ", "very ", "truly ", "absolutely ", "incredibly ", "quite ", "so ", "pretty "]
EN_POS_VERB = [
    ("love", "loves", "loved"),
    ("like", "likes", "liked"),
    ("enjoy", "enjoys", "enjoyed"),
    ("adore", "adores", "adored"),
    ("recommend", "recommends", "recommended"),
]
EN_NEG_VERB = [
    ("hate", "hates", "hated"),
    ("dislike", "dislikes", "disliked"),
    ("regret buying", "regrets buying", "regretted buying"),
]
EN_PEOPLE = [
    ("I", 1),
    ("We", 1),
    ("They", 1),
    ("My friends", 1),
    ("You", 1),
    ("She", 3),
    ("He", 3),
    ("My sister", 3),
    ("My dad", 3),
    ("Everyone", 3),
    ("The kid", 3),
    ("My teacher", 3),
]
EN_DETS = ["this", "the", "that", "this new", "the old", "my", "our"]
EN_END = [".", ".", "!", "!!", "", "."]


def _en_sentence(rng: random.Random, positive: bool) -> str:
    topic = rng.choice(list(EN_TOPICS))
    nouns, aspects = EN_TOPICS[topic]
    thing = f"{rng.choice(EN_DETS)} {rng.choice(nouns)}"
    aspect = f"the {rng.choice(aspects)}"
    good, bad = rng.choice(EN_POS_ADJ), rng.choice(EN_NEG_ADJ)
    adj, other = (good, bad) if positive else (bad, good)
    intens = rng.choice(EN_INTENS)
    person, form = rng.choice(EN_PEOPLE)
    past = rng.random() < 0.35
    be = "was" if past else "is"
    end = rng.choice(EN_END)
    verbs = EN_POS_VERB if positive else EN_NEG_VERB
    verb = rng.choice(verbs)
    verb_form = verb[2] if past else verb[0 if form == 1 else 1]
    other_verb = rng.choice(EN_NEG_VERB if positive else EN_POS_VERB)
    aux = "didn't" if past else ("don't" if form == 1 else "doesn't")
    template = rng.randrange(12)
    if template == 0:  # plain opinion with an intensifier
        s = f"{thing} {be} {intens}{adj}{end}"
    elif template == 1:  # verb of liking or disliking
        s = f"{person} {verb_form} {thing}{end}"
    elif template == 2:  # negation flips the verb: "She doesn't like this book."
        s = f"{person} {aux} {other_verb[0]} {thing}{end}"
    elif template == 3:  # negation flips the adjective: "not good", "not bad at all"
        s = f"{thing} {be} not {other}" + (" at all" if rng.random() < 0.4 else "") + end
    elif template == 4:  # contrast: the clause after "but" decides
        s = f"{aspect} {be} {other}, but {thing} {be} {intens}{adj}{end}"
    elif template == 5:  # contrast with a fault: "good but far too long"
        if positive:
            s = f"a little too {rng.choice(EN_NEG_ATTR)}, but {intens}{good} overall{end}"
        else:
            s = f"{thing} {be} {good} but far too {rng.choice(EN_NEG_ATTR)}{end}"
    elif template == 6:  # an exclamation
        noun = rng.choice(nouns)
        article = "an" if adj[0] in "aeiou" else "a"
        s = f"what {article} {adj} {noun}{'!' if rng.random() < 0.7 else '.'}"
    elif template == 7:  # recommendation
        s = f"I would {'' if positive else 'not '}recommend {thing} to {rng.choice(['anyone', 'a friend', 'my family'])}{end}"
    elif template == 8:  # aspect and verdict
        s = f"{aspect} {be} {intens}{adj} and {thing} {be} {rng.choice(EN_POS_ADJ if positive else EN_NEG_ADJ)}{end}"
    elif template == 9:  # never / hardly with a positive verb
        if positive:
            s = f"I have never {rng.choice(['enjoyed', 'loved'])} {thing} so much{end}"
        else:
            s = f"{person} will never {rng.choice(['buy', 'watch', 'read', 'try'])} {thing} again{end}"
    elif template == 10:  # first-person wish
        s = (f"I {'want' if positive else 'want my money back for'} {thing}"
             + (" again" if positive else "") + end)  # fmt: skip
    else:  # worth it / waste
        s = f"{thing} {be} {'worth every penny' if positive else 'a waste of time'}{end}"
    s = s.strip()
    return s[0].upper() + s[1:]


# ---- Chinese sentiment ------------------------------------------------------------------------

ZH_TOPICS = {  # things, their aspects, and adjectives that fit them (positive, negative)
    "film": (["这部电影", "这部纪录片", "这部动画片", "这部小说", "这本书", "这首歌"],
             ["剧情", "演员", "结尾", "音乐", "故事", "节奏"],
             ["好看", "精彩", "感人", "有趣", "出色", "动人"], ["难看", "无聊", "乏味", "平庸", "拖沓", "无趣"]),
    "food": (["这家餐厅", "这道菜", "这家咖啡店", "这碗面", "这块蛋糕", "这家酒店"],
             ["味道", "服务", "价格", "环境", "分量", "甜点"],
             ["好吃", "美味", "贴心", "舒服", "新鲜", "实惠"], ["难吃", "糟糕", "冷淡", "油腻", "昂贵", "差劲"]),
    "product": (["这款手机", "这台电脑", "这个耳机", "这件衣服", "这个游戏", "这台相机"],
                ["电池", "屏幕", "包装", "音效", "设计", "质量"],
                ["好用", "耐用", "漂亮", "清晰", "结实", "流畅"], ["难用", "粗糙", "卡顿", "模糊", "廉价", "失望"]),
}  # fmt: skip
ZH_INTENS = ["很", "非常", "特别", "真", "超级", "十分", "相当", ""]
ZH_PEOPLE = ["我", "我们", "她", "他", "我妹妹", "朋友们", "大家", "爸爸"]
ZH_END = ["。", "！", "。", "", "！！"]


def _zh_sentence(rng: random.Random, positive: bool) -> str:
    things, aspects, pos_adj, neg_adj = ZH_TOPICS[rng.choice(list(ZH_TOPICS))]
    thing, aspect = rng.choice(things), rng.choice(aspects)
    good, bad = rng.choice(pos_adj), rng.choice(neg_adj)
    adj, other = (good, bad) if positive else (bad, good)
    intens, person, end = rng.choice(ZH_INTENS), rng.choice(ZH_PEOPLE), rng.choice(ZH_END)
    template = rng.randrange(9)
    if template == 0:
        s = f"{thing}{intens}{adj}{end}"
    elif template == 1:
        s = f"{person}{'很喜欢' if positive else '很讨厌'}{thing}{end}"
    elif template == 2:  # 不 flips the verb
        s = f"{person}{'不讨厌' if positive else '不喜欢'}{thing}{end}"
    elif template == 3:  # 不 flips the adjective
        s = f"{thing}{rng.choice(['一点也不', '并不', '不'])}{other}{end}"
    elif template == 4:  # 虽然……但是……: the second clause decides
        s = f"虽然{aspect}有点{other}，但是{thing}{intens}{adj}{end}"
    elif template == 5:
        s = f"{thing}的{aspect}{intens}{adj}{end}"
    elif template == 6:
        s = f"{'强烈推荐' if positive else '不推荐'}{thing}{end}"
    elif template == 7:
        s = f"{person}{'还想再来一次' if positive else '再也不会买了'}，{thing}{intens}{adj}{end}"
    else:
        s = f"{thing}{'物有所值' if positive else '浪费时间'}{end}"
    return s


# ---- synthetic tasks --------------------------------------------------------------------------

FILLER = ("the a cat dog man woman child bird house car tree river road city garden window table door "
          "walked ran saw found took left opened closed near over under behind with from into small "
          "old new tall quiet happy every some morning evening yesterday today box letter chair hill").split()  # fmt: skip
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
    "sentiment_en": dict(make=_en_sentence, labels=["negative", "positive"], n_train=3000, n_valid=600, seed=1,
                         language="en", description="English review sentences about films, books, food and products"),
    "sentiment_zh": dict(make=_zh_sentence, labels=["negative", "positive"], n_train=1500, n_valid=300, seed=2,
                         language="zh", description="中文评论句子（电影、书、餐厅、产品）"),
    "colour": dict(make=_colour_sentence, labels=["no_colour", "colour"], n_train=2000, n_valid=400, seed=3,
                   language="en", description="Synthetic: does the sentence mention a colour?",
                   deciding_words=COLOURS),
    "negation": dict(make=_negation_sentence, labels=["negative", "positive"], n_train=2000, n_valid=400, seed=4,
                     language="en", description="Synthetic: an adjective's polarity, flipped by a 'not' right before it",
                     deciding_words=NEG_POS_ADJ + NEG_NEG_ADJ + ["not"]),
}  # fmt: skip


def generate(name: str) -> tuple[list[dict], list[dict]]:
    spec = SPECS[name]
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
        lengths = [len(r["text"]) if chars else len(r["text"].split()) for r in train]
        extra = ""
        if "deciding_words" in spec:
            extra = (f"- **Known answer**: the deciding tokens are {', '.join(spec['deciding_words'])}. "
                     "A head that has learned the task puts the most [CLS] attention on them.")  # fmt: skip
        (folder / "DATASHEET.md").write_text(
            DATASHEET.format(
                name=name,
                description=spec["description"],
                seed=spec["seed"],
                n_train=len(train),
                n_valid=len(valid),
                mean_words=sum(lengths) / len(lengths),
                unit="characters" if chars else "words",
                balance=balance,
                language=spec["language"],
                extra=extra,
            ),  # fmt: skip
            encoding="utf-8",
        )
