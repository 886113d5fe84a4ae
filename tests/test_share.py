"""A model shared with the class under a short code (model/share.py): stored, opened, limited, never run."""

from __future__ import annotations

import io
import pickle
import sqlite3
import threading
import zipfile

import pytest
import torch

from model import checkpoint
from model.checkpoint import Checkpoint, CheckpointError
from model.share import ALPHABET, CODE_LENGTH, ModelStore, ShareError, StoreLimits, normalise_code

DAY = 24 * 3600.0


@pytest.fixture
def archive(tiny_model, tokenizer, tmp_path) -> bytes:
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"], {"metrics": {"valid_accuracy": 0.5}})
    return checkpoint.to_zip(checkpoint.save(tmp_path / "ckpt", ckpt))


def test_a_shared_model_opens_under_its_code_with_the_same_weights(archive, tiny_model, tokenizer, tmp_path):
    store = ModelStore(tmp_path / "store.sqlite3")
    shared = store.share(archive, now=1000.0)
    assert len(shared.code) == CODE_LENGTH and set(shared.code) <= set(ALPHABET)
    assert shared.expires == 1000.0 + StoreLimits().keep_seconds
    opened = store.open(shared.code.lower(), now=2000.0)  # typed in lower case: the same code
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(opened.model.state_dict()[name], tensor)
    assert opened.label_names == ["a", "b", "c"] and opened.meta["metrics"] == {"valid_accuracy": 0.5}
    ids, mask, _ = tokenizer.batch(["the film was good"], tiny_model.cfg.max_len)
    tiny_model.eval()
    torch.testing.assert_close(opened.model(ids, mask), tiny_model(ids, mask))
    # a second store object on the same file (another process of the server) sees it too
    assert ModelStore(tmp_path / "store.sqlite3").open(shared.code, now=2000.0).label_names == ["a", "b", "c"]


@pytest.mark.parametrize("typed", ["abc 234", "ABC-234", " abc234\t"])
def test_a_code_may_be_typed_as_it_is_read_aloud(typed):
    assert normalise_code(typed) == "ABC234"


@pytest.mark.parametrize("typed", ["", "ABC23", "ABC2345", "ABC1O4", "ABCIL4", "<b>x</b>", "日本語日本語"])
def test_a_code_that_cannot_be_one_is_named_as_such(typed, tmp_path):
    with pytest.raises(ShareError) as caught:
        ModelStore(tmp_path / "s.sqlite3").open(typed)
    assert caught.value.code == "bad_code" and "is not a class code" in str(caught.value)


def test_an_unknown_code_and_an_expired_one_get_their_own_message(archive, tmp_path):
    limits = StoreLimits(keep_seconds=7 * DAY, remember_seconds=30 * DAY)
    store = ModelStore(tmp_path / "store.sqlite3", limits)
    code = store.share(archive, now=0.0).code
    other = "2" * CODE_LENGTH if code != "2" * CODE_LENGTH else "3" * CODE_LENGTH
    with pytest.raises(ShareError) as caught:
        store.open(other, now=1.0)
    assert caught.value.code == "unknown_code" and other in str(caught.value)
    with pytest.raises(ShareError) as caught:
        store.open(code, now=7 * DAY + 1)
    assert caught.value.code == "expired_code" and caught.value.values["days"] == 7
    # the next share forgets the expired model's bytes but remembers its code ...
    store.share(archive, now=8 * DAY)
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        assert db.execute("SELECT archive FROM models WHERE code = ?", (code,)).fetchone() == (None,)
    with pytest.raises(ShareError) as caught:
        store.open(code, now=8 * DAY)
    assert caught.value.code == "expired_code"
    # ... until long after, when it is unknown again
    store.share(archive, now=40 * DAY)
    with pytest.raises(ShareError) as caught:
        store.open(code, now=40 * DAY)
    assert caught.value.code == "unknown_code"


def test_a_store_at_its_limit_says_so_and_takes_models_again_once_one_expires(archive, tmp_path):
    store = ModelStore(tmp_path / "store.sqlite3", StoreLimits(max_models=2, keep_seconds=DAY))
    first = store.share(archive, now=0.0).code
    store.share(archive, now=10.0)
    with pytest.raises(ShareError) as caught:
        store.share(archive, now=20.0)
    assert caught.value.code == "store_full" and caught.value.values == {"n": 2}
    assert store.count(now=20.0) == 2
    third = store.share(archive, now=DAY + 1).code  # the first has expired
    assert third != first and store.count(now=DAY + 1) == 2


def test_a_model_too_big_or_not_a_checkpoint_is_refused_and_nothing_is_kept(archive, tmp_path):
    store = ModelStore(tmp_path / "store.sqlite3", StoreLimits(max_model_bytes=len(archive) - 1))
    with pytest.raises(ShareError) as caught:
        store.share(archive)
    assert caught.value.code == "model_too_big"
    roomy = ModelStore(tmp_path / "store.sqlite3")
    with pytest.raises(CheckpointError) as not_zip:
        roomy.share(b"not a zip at all")
    assert not_zip.value.code == "not_a_zip"
    assert roomy.count() == 0


def test_two_teachers_sharing_at_once_never_get_the_same_code(archive, tmp_path, monkeypatch):
    store = ModelStore(tmp_path / "store.sqlite3")
    # a code already given is drawn again: the store draws another
    drawn = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    monkeypatch.setattr("model.share.new_code", lambda: next(drawn))
    assert [store.share(archive).code, store.share(archive).code] == ["AAAAAA", "BBBBBB"]
    monkeypatch.undo()
    codes, errors = [], []

    def teacher():
        try:
            for _ in range(5):
                codes.append(store.share(archive).code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=teacher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(codes) == 20 and len(set(codes)) == 20
    assert store.count() == 22


def test_nothing_in_the_store_is_ever_run(archive, tmp_path):
    """A row written into the store by hand, whose weights file is a pickle that would create a file when
    unpickled: opening it is refused as a damaged checkpoint, and the file is not created."""
    witness = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(witness), "w"))

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as original, zipfile.ZipFile(buffer, "w") as forged:
        for name in checkpoint.FILES:
            data = pickle.dumps(Payload()) if name == "model.safetensors" else original.read(name)
            forged.writestr(name, data)
    store = ModelStore(tmp_path / "store.sqlite3")
    store.share(archive)  # creates the table
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        db.execute("INSERT INTO models VALUES ('ZZZZZZ', 0, 1e12, 1, ?)", (buffer.getvalue(),))
    with pytest.raises(CheckpointError) as caught:
        store.open("ZZZZZZ")
    assert caught.value.code == "bad_weights" and not witness.exists()


def test_a_store_that_cannot_be_written_says_so(archive, tmp_path):
    (tmp_path / "file").write_text("x")
    store = ModelStore(tmp_path / "file" / "store.sqlite3")  # under a file: no directory can be made
    with pytest.raises(ShareError) as caught:
        store.share(archive)
    assert caught.value.code == "store_unavailable"


# ---- the app: share from Train, open by link or by the code in the sidebar -------------------------
def trained(lang: str = "en"):
    """A tiny model trained on the Train page: (the AppTest, the run)."""
    from tests.conftest import click, new_app, train_page

    at = click(train_page(new_app(lang), hp_d_model=16, hp_n_heads=2, hp_d_ff=32, hp_epochs=1), "▶ Start")
    run = at.session_state["run"]
    assert run.join(timeout=120) and run.status == "done", run.error
    at.run()
    return at, run


def press_share(at, lang: str = "en"):
    label = {"en": "Share with the class", "zh": "分享给全班"}[lang]
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def predict_page(at):
    """The first page a link opens (AppTest starts on Home), what it said at the top, then Predict."""
    at.run()
    said = [(m.proto.format, m.value) for m in (*at.success, *at.error)]
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    return at, said


def test_a_model_shared_from_train_opens_by_its_link_in_another_session_with_the_same_prediction():
    from model.inspect import inspect_sentence
    from tests.conftest import new_app
    from ui.state import model_store

    at, run = trained()
    press_share(at)
    assert not at.error
    code = at.session_state["_kept"]["shared_by_me"]["code"]
    assert any(f"{code[:3]} {code[3:]}" in s.value and "kept until" in s.value for s in at.success)
    assert any(f"/predict?model={code}" in c.value for c in at.code)  # the link to give the class
    assert model_store().open(code).label_names == run.view().checkpoint.label_names
    kept = model_store().count()
    press_share(at)  # pressed again: the same code on the board, no second copy in the store
    assert at.session_state["_kept"]["shared_by_me"]["code"] == code and model_store().count() == kept
    # a student: a new session opened from the link
    student = new_app()
    student.query_params["model"] = code
    _, said = predict_page(student)
    assert student.session_state["model"].source == "shared" and student.query_params["model"] == code
    assert any("Opened the model your class shares" in text for _, text in said)
    assert any(f"**{code[:3]} {code[3:]}**" in c.value for c in student.caption)  # which model the page shows
    sentence = "I love this movie!"
    theirs = inspect_sentence(student.session_state["model"].checkpoint, sentence).probabilities
    teachers = inspect_sentence(run.view().checkpoint, sentence).probabilities
    assert theirs == pytest.approx(teachers, abs=1e-6)


def test_a_bad_unknown_or_expired_code_in_a_link_says_so_and_the_bundled_model_stays(archive):
    from tests.conftest import new_app
    from ui.state import model_store

    expired = model_store().share(archive, now=0.0).code
    cases = (
        ("en", "NOPE!!", "is not a class code"),
        ("en", "NOPE!!", "The page shows the bundled model"),
        ("en", "ZZZZZZ", "no model is shared under the code ZZZZZZ"),
        ("zh", expired, "已经过期"),
    )
    for lang, code, message in cases:
        at = new_app(lang)
        at.query_params["model"] = code
        _, said = predict_page(at)
        assert any(message in text for _, text in said), said
        assert "model" not in at.query_params  # a reload does not say it again
        assert "model" not in at.session_state  # the bundled model


def test_a_store_at_its_limit_says_so_on_the_train_page(monkeypatch, tmp_path):
    full = ModelStore(tmp_path / "full.sqlite3", StoreLimits(max_models=0))
    monkeypatch.setattr("ui.state.model_store", lambda: full)
    at, _ = trained()
    press_share(at)
    assert any("its limit" in e.value for e in at.error), [e.value for e in at.error]
    assert "shared_by_me" not in at.session_state["_kept"]


def english_model_code() -> str:
    """The bundled English model, shared with the class: its tokenizer reads 我很喜欢这部电影！ as [UNK]s."""
    from model.checkpoint import ASSETS_CHECKPOINT
    from ui.state import model_store

    return model_store().share(checkpoint.to_zip(ASSETS_CHECKPOINT)).code


def test_a_chinese_page_on_an_english_class_model_opens_on_a_sentence_the_model_reads():
    from tests.conftest import new_app

    at = new_app("zh")
    at.query_params["model"] = english_model_code()
    at.run()
    at.switch_page("pages/attention.py").run()
    assert not at.exception
    box = next(b for b in at.text_input if b.key == "sentence_input_attention")
    assert box.value == "I love this movie!"  # not 我很喜欢这部电影！, which this model reads as [UNK] only
    assert "sentence" not in at.query_params  # the default, for this model: a reload opens it again
    at.switch_page("pages/predict.py").run()  # Predict's examples too: the model's language, not the page's
    from ui.i18n import strings

    assert at.text_area[0].value == strings("en")["predict_lines_default"]
    assert [b.value for b in at.text_input if b.key in ("compare_a", "compare_b")] == [
        strings("en")["compare_a_default"],
        strings("en")["compare_b_default"],
    ]
    at.switch_page("pages/attention.py").run()
    at.session_state["model"] = None  # back to the bundled Chinese model: the untouched default follows it
    at.run()
    assert next(b for b in at.text_input if b.key == "sentence_input_attention").value == "我很喜欢这部电影！"


def test_a_code_typed_in_the_sidebar_is_said_under_the_box_and_at_the_top_of_the_page_and_the_box_shows_it():
    """On a phone the sidebar may close once the code is sent: what the code gave is also at the page's top."""
    from tests.conftest import new_app

    at = new_app("zh").run()
    box = at.sidebar.text_input[0]
    box.input("AAAA")
    next(b for b in at.sidebar.button if b.label == "打开").click().run()
    assert not at.exception
    assert any("不是班级代码" in e.value for e in at.sidebar.error)  # under the box
    assert any("不是班级代码" in e.value for e in at.main.error)  # and where the page starts
    assert "model" not in at.session_state
    code = english_model_code()
    at.sidebar.text_input[0].input(f"{code[:3].lower()} {code[3:]}")
    next(b for b in at.sidebar.button if b.label == "打开").click().run()
    assert any("已打开全班共享的模型" in s.value for s in at.main.success) and not at.sidebar.error
    at.run()  # said once; the box now shows the code that is open
    assert at.sidebar.text_input[0].value == f"{code[:3]} {code[3:]}" and not at.main.success


def test_the_attention_page_says_plainly_that_a_shared_model_brings_no_snapshots():
    from tests.conftest import new_app

    at = new_app()
    at.query_params["model"] = code = english_model_code()
    at.run()
    at.switch_page("pages/attention.py").run()
    assert not at.exception
    said = [i.value for i in at.info]
    assert any(f"the class's model {code[:3]} {code[3:]}" in s and "do not travel" in s for s in said), said
    assert not any("Train a model on the Train page" in s for s in said)  # not sent off to train


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_train_page_shows_what_an_opened_class_model_is(lang):
    """A student who opened a class code sees on Train the model every page shows: its checkpoint's figures and
    settings, and its curves under Compare runs, open."""
    from model.checkpoint import ASSETS_CHECKPOINT, load
    from tests.conftest import new_app

    at = new_app(lang)
    at.query_params["model"] = code = english_model_code()
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    title = {"en": "The model you opened", "zh": "你打开的模型"}[lang]
    assert any(h.value == title for h in at.subheader), [h.value for h in at.subheader]
    metrics = load(ASSETS_CHECKPOINT).meta["metrics"]
    shown = {m.label: m.value for m in at.metric}
    accuracy = {"en": "Validation accuracy", "zh": "验证准确率"}[lang]
    assert shown[accuracy] == f"{metrics['valid_accuracy']:.1%}", shown
    assert any(f"{code[:3]} {code[3:]}" in m.value for m in at.markdown)
    table = at.table[0].value
    assert "n_classes" not in table.index and len(table) >= 15  # every setting, each by its name for people
    # the bundled checkpoint was saved before checkpoints kept their curves: said, and no Compare runs for it
    assert any({"en": "holds no curves", "zh": "没有曲线"}[lang] in m.value for m in at.markdown)
    assert not any(e.label.startswith(("Compare runs", "比较各次训练")) for e in at.expander)
