"""Every error the engine raises reaches a person in the page's language (issue 18).

model/ raises its errors with a code and the values of their sentence; str() is the command line's
English, and ui/errors.py words the same code from assets/i18n. These tests hold the two together:
every code has a string in both languages, the Chinese ones are Chinese, and the Data page shows one.
"""

import ast
import json
import re
import string
from types import SimpleNamespace

import pytest
import streamlit

from model import checkpoint, config, data, tokenizer
from model.checkpoint import CheckpointError
from model.config import ConfigError, ModelConfig
from model.data import DataError, Dataset, parse_bytes
from tests.conftest import ROOT, click, new_app, open_page

ENGINE = {module: module.MESSAGES for module in (data, config, checkpoint, tokenizer)}
CODES = {code: template for messages in ENGINE.values() for code, template in messages.items()}
STRINGS = {
    lang: json.loads((ROOT / "assets/i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh")
}
ERRORS = {"DataError", "CheckpointError", "ConfigError", "TokenizerError"}
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:\s+[A-Za-z]+){2,}")  # three English words in a row: a pasted sentence


def fields(template: str) -> dict[str, str]:
    """The {placeholders} of a template, each with its format spec."""
    return {name: spec for _, name, spec, _ in string.Formatter().parse(template) if name}


def codes_raised(module) -> set[str]:
    """Every code the module's source raises: code="..." and the codes handed to a helper that raises."""
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    found.add(keyword.value.value)
            if isinstance(node.func, ast.Name) and node.func.id == "_check":
                found.add(node.args[1].value)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
            choices = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
            found |= {choice.value for choice in choices}  # code = "a" if ... else "b"
    return found


@pytest.mark.parametrize("module", list(ENGINE), ids=lambda m: m.__name__)
def test_every_raise_in_the_engine_carries_a_code_with_a_sentence(module):
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERRORS:
            assert [k.arg for k in node.keywords if k.arg == "code"], f"line {node.lineno}: raised without a code"
    raised = codes_raised(module)
    assert raised == set(module.MESSAGES), (raised - set(module.MESSAGES), set(module.MESSAGES) - raised)


def test_codes_are_unique_across_the_engine():
    """One i18n key per code: the same code in two modules would show one of them the other's words."""
    assert sum(len(messages) for messages in ENGINE.values()) == len(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_has_a_string_in_both_languages(code):
    key = f"error_{code}"
    engine = fields(CODES[code])
    samples = {name: 1234 if spec else "x" for name, spec in engine.items()}
    for lang in ("en", "zh"):
        text = STRINGS[lang][key]
        assert set(fields(text)) <= set(engine), (lang, set(fields(text)) - set(engine))
        assert "--" not in text  # the command line's flags are not the page's boxes
        text.format(**samples)  # formats with the values the engine gives
    chinese = re.sub(r"{[^}]*}", "", STRINGS["zh"][key])
    assert re.search(r"[\u4e00-\u9fff]", chinese) and not ENGLISH_RUN.search(chinese), chinese


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_names_its_own_boxes_where_the_command_line_names_its_flags(lang):
    boxes = [STRINGS[lang][k] for k in ("data_columns_title", "data_text_column", "data_label_column")]
    assert all(box in STRINGS[lang]["error_columns_unclear"] for box in boxes)
    assert boxes[0] in STRINGS[lang]["error_no_header"]
    assert boxes[1] in STRINGS[lang]["error_several_text_columns"]
    assert boxes[2] in STRINGS[lang]["error_several_label_columns"]
    assert "--text-column" in CODES["columns_unclear"] and "--label-column" in CODES["columns_unclear"]


@pytest.fixture
def chinese_page():
    """The page's language as a Chinese session has it (ui/state.py keeps it; bare mode outside a server)."""
    from ui import state

    state.keep("lang", "zh")
    yield
    state.keep("lang", "en")


def test_error_text_words_the_engine_in_the_page_language(chinese_page, tmp_path, tokenizer, tiny_model):
    from ui.errors import error_text

    with pytest.raises(DataError) as err:
        parse_bytes(b"first,second\nred,pos\nblue,neg\nred,neg\nblue,pos\n", "x.csv")
    assert error_text(err.value) == (
        "x.csv：无法判断哪一列是文本、哪一列是标签（first, second）。"
        "请在“列名（可选）”下的“文本列”和“标签列”中填写它们的列名。"
    )
    with pytest.raises(ConfigError) as err:
        ModelConfig(n_layers=0)
    assert error_text(err.value) == "层数 (N) 为 0，超出了范围：请选择 1 到 24 之间的值。"  # the slider's own label
    # a cause inside an error is worded too: no English sentence anywhere
    folder = checkpoint.save(tmp_path / "c", checkpoint.Checkpoint(tiny_model, tokenizer, ["a", "b", "c"]))
    settings = json.loads((folder / "config.json").read_text())
    settings["model"]["d_model"] = 30
    (folder / "config.json").write_text(json.dumps(settings))
    with pytest.raises(CheckpointError) as err:
        checkpoint.load(folder)
    worded = error_text(err.value)
    assert worded.startswith("config.json 中的模型设置无效：d_model 30 不能被头数 4 整除")
    assert not ENGLISH_RUN.search(worded)
    # no code, or a code without a string: the English the engine gave
    assert error_text(DataError("the validation part is empty")) == "the validation part is empty"
    assert error_text(ValueError("something else")) == "something else"


def test_error_text_falls_back_to_the_english_when_a_value_is_missing(chinese_page):
    from ui.errors import error_text

    broken = DataError("x.csv, line 3: the text is empty", code="empty_text", name="x.csv")  # no line value
    assert error_text(broken) == "x.csv, line 3: the text is empty"


# ---- the Data page, driven with a file (AppTest cannot upload: its file box is replaced by one holding the bytes)


def upload(monkeypatch, name: str, raw: bytes) -> None:
    file = SimpleNamespace(name=name, getvalue=lambda: raw)
    monkeypatch.setattr(streamlit, "file_uploader", lambda *args, **kwargs: file)


def data_page(lang: str):
    """The Data page in ``lang``, on a few sentences uploaded before (the built-in sets' coverage takes seconds)."""
    from ui.state import DataChoice

    before = Dataset(["好看", "难看", "很好", "不好", "great", "awful"], [1, 0, 1, 0, 1, 0], ["neg", "pos"])
    at = new_app(lang)
    at.session_state["data"] = DataChoice(before, before.subset([0, 1]), "before.csv", False)
    return open_page(at, "pages/data.py")


def test_a_bad_upload_is_refused_in_chinese_and_the_dataset_stays(monkeypatch):
    upload(monkeypatch, "bad.csv", b'text,label\ngood,pos\n"unclosed,pos\nx,neg\ny,pos\n')
    at = click(data_page("zh"), "使用这个文件")
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("无法使用这个文件：bad\\.csv 第 3 行：这里的引号")
    assert not ENGLISH_RUN.search(error.value) and "--" not in error.value
    assert at.session_state["data"].name == "before.csv"  # nothing the user had is lost


# Written for this test: a shop's export, its own column names, 12 rows.
STARS = "review_body,stars\n" + "".join(
    f"{text},{stars}\n"
    for text, stars in [
        ("Boils fast but the lid rattles", 3),
        ("Stopped working after a week", 1),
        ("Lovely colour and solid", 5),
        ("Fine for the price", 3),
        ("The handle gets far too hot", 1),
        ("Quiet quick and easy to clean", 5),
        ("Arrived dented and cracked", 1),
        ("Does the job but the cord is short", 2),
        ("Best one I have owned", 5),
        ("Takes ages to boil", 2),
        ("Good value and looks nice", 4),
        ("Better than the one it replaced", 4),
    ]
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_small_upload_with_its_own_column_names_loads_and_says_it_is_small(monkeypatch, lang):
    upload(monkeypatch, "stars.csv", STARS.encode())
    at = click(data_page(lang), {"en": "Use this file", "zh": "使用这个文件"}[lang])
    assert not at.exception and not at.error
    chosen = at.session_state["data"]
    assert chosen.name == "stars.csv" and chosen.train.label_names == ["1", "2", "3", "4", "5"]
    n_valid = len(chosen.valid)
    [note] = [w.value for w in at.warning if "stars" in w.value]
    assert f"{12 - n_valid}" in note and f"{n_valid}" in note
    assert {"en": "by heart", "zh": "死记硬背"}[lang] in note
