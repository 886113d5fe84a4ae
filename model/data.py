"""Labelled sentences: the built-in datasets in ``assets/datasets`` and the user's own files.

A user file is CSV, TSV or JSONL with a text column and a label column (named, or detected when
unambiguous), with or without a header; labels are strings or integers; 2 to 20 classes; UTF-8,
with a fallback to Windows-1252. Every problem is a ``DataError`` naming what is wrong and where.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DATASETS_DIR = ASSETS / "datasets"

MAX_CLASSES = 20
MAX_FILE_BYTES = 50 * 1024 * 1024  # 50 MB: large enough for 100k+ sentences, small enough for a class server
MAX_ROWS = 200_000
TEXT_NAMES = ("text", "sentence", "review", "content", "comment", "document", "文本", "句子", "评论")
LABEL_NAMES = ("label", "labels", "sentiment", "class", "category", "target", "y", "标签", "类别")


class DataError(ValueError):
    """A data file cannot be used; the message says what is wrong and on which line."""


@dataclass
class Dataset:
    texts: list[str]
    labels: list[int]  # indices into label_names
    label_names: list[str]
    description: str = ""
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.label_names, 0)
        for y in self.labels:
            counts[self.label_names[y]] += 1
        return counts

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A seeded, stratified hold-out: every class keeps its share in both parts."""
        rng = random.Random(seed)
        by_class: dict[int, list[int]] = {}
        for i, y in enumerate(self.labels):
            by_class.setdefault(y, []).append(i)
        train_idx, valid_idx = [], []
        for idx in by_class.values():
            rng.shuffle(idx)
            n_valid = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
            valid_idx += idx[:n_valid]
            train_idx += idx[n_valid:]
        return self.subset(sorted(train_idx)), self.subset(sorted(valid_idx))

    def subset(self, idx: list[int]) -> Dataset:
        return Dataset(
            [self.texts[i] for i in idx], [self.labels[i] for i in idx], list(self.label_names),
            self.description, self.source,
        )  # fmt: skip


@dataclass
class BuiltinDataset:
    name: str
    train: Dataset
    valid: Dataset
    datasheet: str
    info: dict = field(default_factory=dict)


def builtin_names() -> list[str]:
    return sorted(p.name for p in DATASETS_DIR.iterdir() if (p / "train.jsonl").is_file())


def load_builtin(name: str) -> BuiltinDataset:
    folder = DATASETS_DIR / name
    if not (folder / "train.jsonl").is_file():
        raise DataError(f"no built-in dataset named {name!r}: choose one of {', '.join(builtin_names())}")
    info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    label_names = info["labels"]
    parts = []
    for part in ("train", "valid"):
        ds = load_file(folder / f"{part}.jsonl", label_order=label_names)
        ds.description, ds.source = info["description"], f"builtin:{name}"
        parts.append(ds)
    datasheet = (folder / "DATASHEET.md").read_text(encoding="utf-8")
    return BuiltinDataset(name, parts[0], parts[1], datasheet, info)


# ---- user files -------------------------------------------------------------------------------


def read_text(raw: bytes, name: str = "file") -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to Windows-1252."""
    if not raw.strip():
        raise DataError(f"{name} is empty")
    if b"\x00" in raw[:8192]:
        raise DataError(f"{name} looks like a binary file, not CSV, TSV or JSONL text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            line = raw[: utf8_error.start].count(b"\n") + 1
            raise DataError(
                f"{name}, line {line}: the text is neither UTF-8 nor Windows-1252; save it as UTF-8"
            ) from None


def load_file(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    label_order: list[str] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    return parse_bytes(path.read_bytes(), path.name, text_column, label_column, label_order, max_rows)


def parse_bytes(
    raw: bytes,
    name: str,
    text_column: str | None = None,
    label_column: str | None = None,
    label_order: list[str] | None = None,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    """Parse an uploaded or on-disk file's bytes into a Dataset (the format from its name)."""
    text = read_text(raw, name)
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(text, name)
        columns = sorted({k for _, row in rows for k in row})
        records = [(line, [row.get(c) for c in columns]) for line, row in rows]
        header = columns
    else:
        delimiter = "\t" if suffix == ".tsv" else "," if suffix == ".csv" else _sniff(text)
        records = _delimited_rows(text, delimiter, name)
        header = None
    if not records:
        raise DataError(f"{name} has no rows")
    text_idx, label_idx, records = _choose_columns(records, header, text_column, label_column, name)
    if len(records) > max_rows:
        raise DataError(f"{name} has {len(records):,} rows; the limit is {max_rows:,}")
    texts, raw_labels = [], []
    for line, cells in records:
        sentence, label = cells[text_idx], cells[label_idx]
        if not isinstance(sentence, str) or not sentence.strip():
            raise DataError(f"{name}, line {line}: the text is empty")
        if label is None or (isinstance(label, str) and not label.strip()):
            raise DataError(f"{name}, line {line}: the label is empty")
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            if isinstance(label, float) and label.is_integer():
                label = int(label)
            else:
                raise DataError(f"{name}, line {line}: the label {label!r} is not a string or an integer")
        texts.append(sentence.strip())
        raw_labels.append(str(label).strip())
    return _index_labels(texts, raw_labels, label_order, name, [line for line, _ in records])


def _sniff(text: str) -> str:
    first = text.splitlines()[0] if text.splitlines() else ""
    return "\t" if first.count("\t") >= 1 else ","


def _delimited_rows(text: str, delimiter: str, name: str) -> list[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records, width = [], None
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            if width is None:
                width = len(cells)
                if width < 2:
                    kind = "tab" if delimiter == "\t" else "comma"
                    raise DataError(
                        f"{name}, line {reader.line_num}: found 1 column; expected a text and a label "
                        f"separated by a {kind}"
                    )
            elif len(cells) != width:
                raise DataError(f"{name}, line {reader.line_num}: {len(cells)} columns where the first row has {width}")
            records.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataError(f"{name}, line {reader.line_num}: {exc}") from None
    return records


def _jsonl_rows(text: str, name: str) -> list[tuple[int, dict]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}, line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(
                f'{name}, line {number}: each line must be a JSON object like {{"text": ..., "label": ...}}'
            )
        rows.append((number, row))
    return rows


def _find(names: list[str], wanted: tuple[str, ...]) -> list[int]:
    lowered = [str(n).strip().lower() for n in names]
    return [i for i, n in enumerate(lowered) if n in wanted]


def _choose_columns(records, header, text_column, label_column, name):
    """Which column holds the text and which the label; drops a header row if there is one."""
    first = records[0][1]
    if header is None:
        # A header row is one whose cells name the columns we are looking for.
        named = set(n.strip().lower() for n in first if isinstance(n, str))
        wanted = {c.lower() for c in (text_column, label_column) if c}
        is_header = bool(wanted & named) or bool(named & set(TEXT_NAMES)) or bool(named & set(LABEL_NAMES))
        if is_header:
            header, records = [str(c) for c in first], records[1:]
            if not records:
                raise DataError(f"{name} has a header but no rows")
    if text_column or label_column:
        if header is None:
            raise DataError(f"{name} has no header row, so columns cannot be chosen by name")
        lowered = [h.strip().lower() for h in header]
        for given in (text_column, label_column):
            if given and given.lower() not in lowered:
                raise DataError(f"{name}: no column named {given!r}; columns are {', '.join(header)}")
    width = len(records[0][1])

    def pick(given, known, role):
        if given:
            return [h.strip().lower() for h in header].index(given.lower())
        if header is not None:
            hits = _find(header, known)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise DataError(
                    f"{name}: several columns could be the {role} ({', '.join(header[i] for i in hits)}); "
                    f"name one with --{role}-column"
                )
        return None

    text_idx = pick(text_column, TEXT_NAMES, "text")
    label_idx = pick(label_column, LABEL_NAMES, "label")
    if text_idx is None or label_idx is None:
        text_idx, label_idx = _guess_columns(records, width, text_idx, label_idx, header, name)
    if text_idx == label_idx:
        raise DataError(f"{name}: the text and the label cannot be the same column")
    return text_idx, label_idx, records


def _guess_columns(records, width, text_idx, label_idx, header, name):
    """Detect the columns by their content: the label has few distinct short values, the text the longest."""
    described = ", ".join(header) if header else f"{width} unnamed columns"
    candidates = range(width)
    stats = []
    for c in candidates:
        values = [cells[c] for _, cells in records]
        strings = [str(v) for v in values if v is not None]
        distinct = len(set(strings))
        mean_len = sum(len(s) for s in strings) / max(1, len(strings))
        stats.append((c, distinct, mean_len))
    if label_idx is None:
        labelish = [c for c, distinct, _ in stats if c != text_idx and 2 <= distinct <= MAX_CLASSES]
        if len(labelish) != 1:
            raise DataError(
                f"{name}: cannot tell which column is the label ({described}); "
                "add a header with 'text' and 'label' or name them with --text-column and --label-column"
            )
        label_idx = labelish[0]
    if text_idx is None:
        others = sorted(((m, c) for c, _, m in stats if c != label_idx and _all_strings(records, c)), reverse=True)
        if not others or (len(others) > 1 and others[1][0] > 0.5 * others[0][0]):
            raise DataError(
                f"{name}: cannot tell which column is the text ({described}); "
                "name it with a header or with --text-column"
            )
        text_idx = others[0][1]
    return text_idx, label_idx


def _all_strings(records, c) -> bool:
    return all(isinstance(cells[c], str) for _, cells in records)


def _index_labels(texts, raw_labels, label_order, name, lines) -> Dataset:
    if label_order is not None:
        index = {lab: i for i, lab in enumerate(label_order)}
        for line, lab in zip(lines, raw_labels):
            if lab not in index:
                raise DataError(f"{name}, line {line}: unknown label {lab!r}; expected one of {', '.join(label_order)}")
        return Dataset(texts, [index[lab] for lab in raw_labels], list(label_order), source=name)
    distinct = set(raw_labels)
    if len(distinct) < 2:
        raise DataError(f"{name}: every row has the label {raw_labels[0]!r}; a classifier needs at least 2 classes")
    if len(distinct) > MAX_CLASSES:
        raise DataError(
            f"{name}: {len(distinct)} different labels; the limit is {MAX_CLASSES}. Is the label column the right one?"
        )
    # Integer labels sort as numbers (0, 1, 2, 10), others alphabetically.
    if all(lab.lstrip("-").isdigit() for lab in distinct):
        names = sorted(distinct, key=int)
    else:
        names = sorted(distinct)
    index = {lab: i for i, lab in enumerate(names)}
    return Dataset(texts, [index[lab] for lab in raw_labels], names, source=name)


def align_labels(valid: Dataset, train: Dataset, name: str = "validation file") -> Dataset:
    """Re-index a separately loaded validation set onto the training set's label names."""
    index = {lab: i for i, lab in enumerate(train.label_names)}
    missing = sorted(set(valid.label_names) - set(index))
    if missing:
        raise DataError(f"{name} has labels the training data lacks: {', '.join(missing)}")
    labels = [index[valid.label_names[y]] for y in valid.labels]
    return Dataset(valid.texts, labels, list(train.label_names), valid.description, valid.source)
