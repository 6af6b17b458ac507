"""Filter expressions against a brute-force filter in Python over the same runs, on both
backends: the examples of the issue, edge cases of every kind of name and value, and
generated expressions (hypothesis); every entry point that takes ``where``; and the filter
running in SQL (a fixed number of statements, whatever the number of runs)."""

from __future__ import annotations

import importlib.util

import pytest
from filter_oracle import EXPERIMENTS, METRICS, OPTIMIZERS, Oracle, write_runs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tracker import Repository
from tracker.store import db, schema

STATUSES = ("running", "completed", "failed", "invalid", "stale")

EXAMPLES = [
    # the issue's
    "learning_rate < 1e-3 and optimizer == 'adam'",
    "batch_size in (32, 64) and not (status == 'failed')",
    "best.val_accuracy >= 0.8",
    "`tuner/epochs` >= 2",
    "1e-4 < learning_rate <= 1e-2",
    "last.val_loss < 0.3",
    # numbers across int/float, booleans, text, None
    "batch_size == 32",
    "batch_size == 32.0",
    "batch_size != 32",
    "use_bn",
    "not use_bn",
    "use_bn == False",
    "use_bn != True",
    "optimizer > 'adam'",
    "optimizer <= 'b'",
    "optimizer == 'Ädam' or optimizer == 'adam '",
    "optimizer not in ('adam', 'sgd')",
    "optimizer in ()",
    "optimizer not in ()",
    "learning_rate == None",
    "learning_rate != None",
    "nothing == None",
    "nothing != None",
    "maybe == None",
    "maybe != None",
    "maybe >= 3",
    "maybe in (None, 3)",
    "layers == None",
    "layers != None",
    "mixed == 2",
    "mixed >= 2",
    "mixed == 'x'",
    "mixed < 'y'",
    "mixed in (1, 'x')",
    "-1 < learning_rate",
    "0.001 == learning_rate",
    "True",
    "False or batch_size == 64",
    # run fields, and run.NAME
    "status == 'stale'",
    "status == 'running'",
    "status in ('completed', 'invalid')",
    "status != 'completed'",
    "status >= 'invalid'",
    "run.status == 'failed'",
    "trial_id == '01'",
    "trial_id == None",
    "trial_id != '00'",
    "trial_id > '00'",
    "worker != None and source == 'keras-tuner'",
    "name == None",
    "execution == 1 and attempt == 0",
    "attempt >= 1",
    "id > 10 and id <= 20",
    "score > 0.6",
    "score == None",
    "not (score != None)",
    # metrics: best in the direction, max/min, last with NaN and infinities
    "best.val_loss <= 0.25",
    "best.val_accuracy == None",
    "best.val_accuracy != None",
    "max.custom > 0.5",
    "min.custom < 0.5",
    "min.custom == None",
    "last.custom > 0.5",
    "last.custom < 0.5",
    "last.custom >= 0.25",
    "last.custom == None",
    "last.custom != 0.5",
    "not (last.val_accuracy <= 0.5)",
    "last.val_accuracy in (0.5, 0.25)",
    "last.val_accuracy not in (0.5, 0.25)",
    # precedence and nesting
    "batch_size == 16 or batch_size == 64 and optimizer == 'sgd'",
    "(batch_size == 16 or batch_size == 64) and optimizer == 'sgd'",
    "not not use_bn",
    "not (learning_rate < 0.01 or best.val_accuracy > 0.5) and status != 'failed'",
    "0.2 < best.val_accuracy < 0.9 != learning_rate",
]
OTHER = [  # the experiment where a hyperparameter is called "status"
    "status == 'good'",
    "status != 'bad'",
    "run.status == 'completed'",
    "status == 'good' and run.status != 'failed'",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory):
    """A varied sweep in two experiments, on each backend, with what each run was given."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('filters') / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    repo = Repository(url, stale_after=3600)
    oracle = Oracle(write_runs(repo))
    yield repo, oracle
    db.dispose_engines()


def ids(runs) -> list[int]:
    return [r.id for r in runs]


@pytest.mark.parametrize("expression", EXAMPLES)
def test_examples_match_brute_force(store, expression):
    repo, oracle = store
    for experiment in ("sweep", None):
        assert ids(repo.runs(experiment, where=expression)) == \
            oracle.matches(expression, experiment), experiment


@pytest.mark.parametrize("expression", OTHER)
def test_a_hyperparameter_shadows_the_run_field_of_its_name(store, expression):
    repo, oracle = store
    for experiment in ("other", None):
        assert ids(repo.runs(experiment, where=expression)) == \
            oracle.matches(expression, experiment), experiment


def test_the_examples_are_not_trivial(store):
    """Each example (but the constants) keeps some runs of an experiment and leaves out
    others: none passes by being vacuous."""
    _, oracle = store
    constant = {"True", "optimizer in ()", "optimizer not in ()", "nothing == None",
                "nothing != None"}
    vacuous = []
    for expression in [*EXAMPLES, *OTHER]:
        if expression in constant:
            continue
        splits = []
        for experiment in ("sweep", "other", None):
            kept = oracle.matches(expression, experiment)
            splits.append(0 < len(kept) < len(oracle.scope(experiment)))
        if not any(splits):
            vacuous.append(expression)
    assert vacuous == []


def test_old_forms_keep_working(store):
    repo, oracle = store
    expected = oracle.matches("batch_size in (32, 64) and optimizer == 'adam'", None)
    assert ids(repo.runs(where={"batch_size": [32, 64], "optimizer": "adam"})) == expected
    assert ids(repo.runs(where=["batch_size in (32, 64)", "optimizer=adam"])) == expected
    assert ids(repo.runs(where="optimizer=adam")) == oracle.matches("optimizer == 'adam'")
    assert ids(repo.runs(where="tuner/epochs=2")) == oracle.matches("`tuner/epochs` == 2")
    assert ids(repo.runs(where={"batch_size": 32.0})) == oracle.matches("batch_size == 32")
    assert ids(repo.runs(where={"nothing": None})) == oracle.matches("nothing == None")


# -- generated expressions ----------------------------------------------------------------------

NUMBERS = st.one_of(
    st.sampled_from([1e-4, 1e-3, 3e-3, 0.01, 16, 32, 64, 128, 1, 2, 3, 2.5, 0.5, 0.25, 0.75, 0,
                     -1, 32.0]),
    st.integers(-5, 200),
    st.floats(-2, 2, allow_nan=False),
)
TEXTS = st.one_of(
    st.sampled_from([*OPTIMIZERS, "x", "y", "good", "bad", "00", "01", "run-3", "tuner0",
                     "keras-tuner", "callback", "", *STATUSES]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=3),
)
LITERALS = {"number": NUMBERS, "text": TEXTS, "bool": st.booleans(), "none": st.none()}
KIND_CATEGORY = {"int": "number", "float": "number", "str": "text", "bool": "bool",
                 "json": "json", "none": "none"}
FIELD_CATEGORIES = {"status": {"status"}, "trial_id": {"text", "none"},
                    "worker": {"text", "none"}, "source": {"text", "none"},
                    "name": {"text", "none"}, "execution": {"number"}, "attempt": {"number"},
                    "id": {"number"}, "score": {"number", "none"}}


def references(repo, experiment):
    """(text of a name, categories of value it can be compared with) in ``experiment``."""
    names = repo.names(experiment)
    found = []
    for name, kinds in names.hyperparameters.items():
        categories = {KIND_CATEGORY[k] for k in kinds} - {"json"} | {"none"}
        text = name if name.isidentifier() else f"`{name}`"
        found.append((text, categories))
    for name, categories in FIELD_CATEGORIES.items():
        found.append((f"run.{name}", categories))
        if name not in names.hyperparameters:
            found.append((name, categories))
    for metric, direction in METRICS.items():
        if metric in names.metrics:
            scopes = ["last", "max", "min"] + (["best"] if direction else [])
            found += [(f"{scope}.{metric}", {"number", "none"}) for scope in scopes]
    return found


@st.composite
def single_tests(draw, refs):
    ref, categories = draw(st.sampled_from(refs))
    if "status" in categories:
        equal = st.sampled_from(STATUSES)
        ordered = TEXTS
    else:
        equal = st.one_of(*(LITERALS[c] for c in sorted(categories)))
        ordered_kinds = sorted(categories & {"number", "text"})
        ordered = st.one_of(*(LITERALS[c] for c in ordered_kinds)) if ordered_kinds else None
    shapes = ["==", "!=", "in", "not in"] + (["<", "<=", ">", ">=", "chain", "flipped"]
                                             if ordered is not None else [])
    if categories == {"bool", "none"}:
        shapes.append("flag")
    shape = draw(st.sampled_from(shapes))
    if shape == "flag":
        return ref
    if shape in ("in", "not in"):
        values = draw(st.lists(equal, max_size=3))
        inside = ", ".join(map(repr, values)) + ("," if len(values) == 1 else "")
        return f"{ref} {shape} ({inside})"
    if shape == "chain":
        low, high = draw(ordered), draw(ordered)
        first, second = draw(st.sampled_from(["<", "<="])), draw(st.sampled_from(["<", "<="]))
        return f"{low!r} {first} {ref} {second} {high!r}"
    if shape == "flipped":
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        return f"{draw(ordered)!r} {op} {ref}"
    value = draw(equal if shape in ("==", "!=") else ordered)
    return f"{ref} {shape} {value!r}"


def expressions(refs):
    return st.recursive(
        single_tests(refs),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]}) and ({p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]}) or ({p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"{p[0]} or {p[1]}"),
            inner.map(lambda e: f"not ({e})"),
        ),
        max_leaves=5,
    )


@pytest.mark.parametrize("experiment", [*EXPERIMENTS, None])
def test_generated_expressions_match_brute_force(store, experiment):
    repo, oracle = store
    refs = references(repo, experiment)

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(expressions(refs))
    def check(expression):
        assert ids(repo.runs(experiment, where=expression)) == \
            oracle.matches(expression, experiment)

    check()


# -- every entry point takes the same filter ---------------------------------------------------


FILTERS = ["optimizer in ('adam', 'sgd') and not (status == 'failed')",
           "best.val_loss < 0.6 or learning_rate >= 0.003", "`tuner/epochs` >= 2"]


@pytest.mark.parametrize("where", FILTERS)
def test_every_query_filters_the_same_runs(store, where):
    pd = pytest.importorskip("pandas")
    repo, oracle = store
    kept = oracle.matches(where, "sweep")
    assert kept
    frame = repo.to_dataframe("sweep", where=where)
    assert frame["run_id"].tolist() == kept
    epochs = repo.to_dataframe("sweep", kind="epochs", where=where)
    assert set(epochs["run_id"]) == {r.id for r in oracle.runs if r.id in kept and r.curves}
    chunks = list(repo.iter_epochs("sweep", where=where, chunk_rows=5))
    assert pd.concat(chunks)["run_id"].tolist() == epochs["run_id"].tolist()

    everything = {r.run.id: r for r in repo.top_runs("val_accuracy", k=1000, experiment="sweep")}
    ranked = repo.top_runs("val_accuracy", k=1000, experiment="sweep", where=where)
    assert [r.run.id for r in ranked] == [i for i in everything if i in kept]

    groups = repo.best_by("optimizer", "val_accuracy", experiment="sweep", where=where)
    sizes = {}
    for run in oracle.runs:
        if run.id in kept and "optimizer" in run.hyperparameters:
            sizes[run.hyperparameters["optimizer"]] = sizes.get(
                run.hyperparameters["optimizer"], 0) + 1
    assert {g.group: g.runs for g in groups} == sizes
    for g in groups:
        if g.run_id is not None:
            assert g.run_id in kept and everything[g.run_id].run.hyperparameters[
                "optimizer"] == g.group


def test_trials_keep_the_executions_that_pass(store):
    repo, oracle = store
    where = "execution == 0"
    summaries = repo.trials("sweep", "val_accuracy", where=where)
    kept = set(oracle.matches(where, "sweep"))
    assert summaries
    for summary in summaries:
        assert set(summary.run_ids) <= kept
    unfiltered = {t.trial_id: t for t in repo.trials("sweep", "val_accuracy")}
    for summary in summaries:
        assert summary.attempt == unfiltered[summary.trial_id].attempt  # over every run


# -- in SQL -------------------------------------------------------------------------------------


def _statements(repo, call) -> list[str]:
    sent: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    event.listen(repo.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(repo.engine, "before_cursor_execute", capture)
    return sent


def test_the_filter_runs_in_sql_in_a_fixed_number_of_statements(url):
    repo = Repository(url)
    for experiment, runs in (("small", 8), ("large", 60)):
        for i in range(runs):
            hp = {"lr": 10.0 ** -(i % 5), "opt": "adam"}
            key = repo.start_run(experiment, hyperparameters=hp)
            repo.log_epochs(key, {0: {"val_accuracy": i / runs}, 1: {"val_accuracy": i / runs}})
    where = "lr < 0.01 and opt == 'adam' and best.val_accuracy >= 0.5 and status == 'running'"
    calls = {
        "runs": lambda e: repo.runs(e, where=where),
        "top_runs": lambda e: repo.top_runs("val_accuracy", 3, experiment=e, where=where),
        "best_by": lambda e: repo.best_by("opt", "val_accuracy", experiment=e, where=where),
    }
    if importlib.util.find_spec("pandas"):
        calls["runs frame"] = lambda e: repo.to_dataframe(e, where=where)
        calls["epochs frame"] = lambda e: repo.to_dataframe(e, kind="epochs", where=where)
    for name, call in calls.items():
        small = _statements(repo, lambda call=call: call("small"))
        large = _statements(repo, lambda call=call: call("large"))
        assert len(small) == len(large), name
    found = repo.runs("large", where=where)
    assert 0 < len(found) < 60
    sent = [s for s in _statements(repo, lambda: repo.runs("large", where=where))
            if s.lstrip().upper().startswith("SELECT")]
    # the experiment; one look-up per kind of name (hyperparameters, metrics, the objective
    # that tells best.val_accuracy's direction); the runs; their hyperparameters; their tags
    assert len(sent) == 7, sent
    run_statement = next(s for s in sent if "ORDER BY runs.id" in s)
    assert run_statement.upper().count("EXISTS") >= 3  # the tests are in its WHERE clause
