"""An SST-2-shaped stand-in, generated from a seed, and a bag-of-words baseline measured beside us.

The real SST-2 is not available on this machine, so this writes data of the same shape — about
67,000 labelled training phrases (sub-spans of sentences, many short, labelled one by one as
SST's are) and 872 full dev sentences, as GLUE-style TSV — from a pseudo-word vocabulary with a
sentiment lexicon, intensifiers, negation that flips the next sentiment word, "but" that makes
the second clause count more, and label noise. A bag of words cannot see word order, so
negation and contrast are where a Transformer can beat it, as on the real data.

    python -m bench.sst_like [--time-budget 90] [any `python -m model train` option, e.g. --batch-size 128]

prints both validation accuracies; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

SYLLABLES = "ka lo mi ne ru ta shi po va de gu ri zo fa be ni mo la te su ha yo ki pa".split()
NEGATORS = ["not", "never", "no", "hardly"]
INTENSIFIERS = ["very", "really", "so", "truly", "utterly", "quite", "deeply"]
CONTRAST = ["but", "yet", "though"]


def _words(rng: random.Random, n: int, used: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in used:
            used.add(w)
            out.append(w)
    return out


class Grammar:
    def __init__(self, seed: int):
        rng = random.Random(seed)
        used: set[str] = set()
        self.neutral = _words(rng, 10_000, used)
        self.positive = _words(rng, 500, used)
        self.negative = _words(rng, 500, used)
        self.strength = {w: rng.uniform(0.5, 2.0) for w in self.positive}
        self.strength.update({w: -rng.uniform(0.5, 2.0) for w in self.negative})
        # Zipf-like weights: a few words are frequent, most are rare, as in real text.
        self.neutral_cum = list(itertools.accumulate(1 / (i + 1) ** 1.05 for i in range(len(self.neutral))))
        self.sent_cum = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(500)))

    def sentence(self, rng: random.Random, length: int) -> list[str]:
        words = []
        while len(words) < length:
            r = rng.random()
            if r < 0.18:
                pool = self.positive if rng.random() < 0.5 else self.negative
                words.append(rng.choices(pool, cum_weights=self.sent_cum)[0])
            elif r < 0.23:
                words.append(rng.choice(NEGATORS))
            elif r < 0.28:
                words.append(rng.choice(INTENSIFIERS))
            elif r < 0.31 and words:
                words.append(rng.choice(CONTRAST))
            else:
                words.append(rng.choices(self.neutral, cum_weights=self.neutral_cum)[0])
        return words

    def score(self, words: list[str]) -> float:
        total, weight, negate_left, boost = 0.0, 1.0, 0, 1.0
        for w in words:
            if w in CONTRAST:
                total *= 0.5  # what came before "but" counts less
                weight = 2.0
            elif w in NEGATORS:
                negate_left = 3  # flips the next sentiment word within three words
            elif w in INTENSIFIERS:
                boost = 2.0
            elif w in self.strength:
                s = self.strength[w] * boost * weight
                total += -s if negate_left > 0 else s
                negate_left, boost = 0, 1.0
                continue
            negate_left = max(0, negate_left - 1)
        return total


def generate(seed: int = 0, n_train: int = 67_000, n_dev: int = 872, noise: float = 0.08):
    grammar, rng = Grammar(seed), random.Random(seed + 1)

    def labelled(words):
        s = grammar.score(words)
        if abs(s) < 0.4:  # SST-2 dropped neutral phrases
            return None
        y = int(s > 0)
        return y if rng.random() > noise else 1 - y

    train = []
    while len(train) < n_train:
        sentence = grammar.sentence(rng, rng.randint(8, 30))
        for _ in range(6):  # several sub-phrases of each sentence, short ones most often
            length = min(len(sentence), max(1, int(rng.expovariate(1 / 7))))
            start = rng.randrange(len(sentence) - length + 1)
            span = sentence[start : start + length]
            y = labelled(span)
            if y is not None and len(train) < n_train:
                train.append((" ".join(span), y))
    dev = []
    while len(dev) < n_dev:
        words = grammar.sentence(rng, rng.randint(10, 30))
        y = labelled(words)
        if y is not None:
            dev.append((" ".join(words), y))
    return train, dev


def write_tsv(rows, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        for text, y in rows:
            f.write(f"{text}\t{y}\n")


def bag_of_words_baseline(train, dev, epochs: int = 30) -> float:
    """Logistic regression on unigram+bigram counts (the classic SST baseline), trained to convergence."""
    vocab: dict[str, int] = {}

    def features(text):
        w = text.split()
        return w + [a + "_" + b for a, b in zip(w, w[1:])]

    for text, _ in train:
        for f in features(text):
            vocab.setdefault(f, len(vocab))

    def encode(rows):
        idx, offsets = [], [0]
        for text, _ in rows:
            ids = [vocab[f] for f in features(text) if f in vocab]
            idx += ids
            offsets.append(len(idx))
        return torch.tensor(idx), torch.tensor(offsets[:-1]), torch.tensor([y for _, y in rows])

    x_idx, x_off, y = encode(train)
    d_idx, d_off, d_y = encode(dev)
    torch.manual_seed(0)
    model = torch.nn.EmbeddingBag(len(vocab), 1, mode="sum")
    torch.nn.init.zeros_(model.weight)
    bias = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([*model.parameters(), bias], lr=0.02)
    best = 0.0
    for _ in range(epochs):
        opt.zero_grad()
        logits = model(x_idx, x_off).squeeze(-1) + bias
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float()) + 1e-5 * model.weight.pow(2).sum()
        )
        loss.backward()
        opt.step()
        with torch.no_grad():
            acc = float(((model(d_idx, d_off).squeeze(-1) + bias > 0).long() == d_y).float().mean())
        best = max(best, acc)  # the baseline gets its best epoch: a generous comparison
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-budget", type=float, default=90)
    parser.add_argument("--seed", type=int, default=0)
    args, train_options = parser.parse_known_args()
    train, dev = generate(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_tsv(train, tmp / "train.tsv")
        write_tsv(dev, tmp / "dev.tsv")
        t0 = time.perf_counter()
        baseline = bag_of_words_baseline(train, dev)
        baseline_seconds = time.perf_counter() - t0
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "model",
                "train",
                "--data",
                str(tmp / "train.tsv"),
                "--valid",
                str(tmp / "dev.tsv"),
                "--time-budget",
                str(args.time_budget),
                "--quiet",
                "--out",
                str(tmp / "ckpt"),
                *train_options,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        ours = json.loads(result.stdout.strip().splitlines()[-1])
    mean_len = sum(len(t.split()) for t, _ in train) / len(train)
    print(f"data: {len(train)} training phrases (mean {mean_len:.1f} words), {len(dev)} dev sentences")
    print(f"bag-of-words logistic regression: {baseline:.4f}  ({baseline_seconds:.1f} s)")
    print(
        f"our Transformer ({' '.join(train_options) or 'defaults'}, {args.time_budget:.0f} s budget): "
        f"{ours['valid_accuracy']:.4f}  "
        f"({ours['steps']} steps, {ours['samples_per_second']:.0f} samples/s)"
    )
    print(
        json.dumps(
            {
                "baseline_accuracy": round(baseline, 4),
                "transformer_accuracy": ours["valid_accuracy"],
                "steps": ours["steps"],
                "samples_per_second": ours["samples_per_second"],
            }
        )
    )


if __name__ == "__main__":
    main()
