"""The dashboard in Debian's headless Chromium, served for real (uvicorn, a free port) over a
real SQLite file and a real PostgreSQL database filled by ``model.fit`` runs and a keras-tuner
search: pages load without a console error, the table shows the database's numbers, sorting,
filters and brushing change its rows, a click draws a run's curves, a run written while the
page is open appears, and hostile names stay text. Screenshots at 1366x768 are saved to
``$TRACKER_UI_SCREENSHOTS`` (else a temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import Server, chromium, chromium_missing, console_errors, open_page, wait_for
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from ui_fixtures import HOSTILE_EXPERIMENT, HOSTILE_NAME, TUNER_EXPERIMENT

from tracker import Repository

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    chromium_missing() is not None and os.environ.get("CI", "") not in ("1", "true"),
    reason=str(chromium_missing()))]
SYNTHETIC = "synthetic"


@pytest.fixture(scope="module")
def site(ui_url):
    with Server(ui_url) as server:
        driver = chromium()
        try:
            yield server, driver, Repository(ui_url)
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("TRACKER_UI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def backend(repo: Repository) -> str:
    return "postgresql" if repo.url.startswith("postgresql") else "sqlite"


def table_ids(driver) -> list[int]:
    return [int(row.get_attribute("data-run"))
            for row in driver.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")]


def count_text(driver) -> str:
    return driver.find_element(By.ID, "count").text


def test_every_page_loads_without_a_console_error(site, shots):
    server, driver, repo = site
    console_errors(driver)
    kind = backend(repo)
    pages = {"experiments": "/", "experiment": f"/experiment?name={SYNTHETIC}",
             "tuner": f"/experiment?name={TUNER_EXPERIMENT}&metric=val_accuracy",
             "keras": "/experiment?name=keras-sweep",
             "run": f"/run?id={repo.runs(TUNER_EXPERIMENT)[0].id}"}
    for page, path in pages.items():
        open_page(driver, server.base + path)
        wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, "p.loading"), what=page)
        if page != "experiments":
            driver.execute_script("return new Promise((done) => setTimeout(done, 800))")
        driver.save_screenshot(str(shots / f"{kind}-{page}.png"))
        if page in ("experiment", "tuner"):  # and its charts, below the table
            driver.execute_script("document.getElementById('parallel').scrollIntoView()")
            driver.save_screenshot(str(shots / f"{kind}-{page}-charts.png"))
        assert console_errors(driver) == [], page
        assert not driver.find_elements(By.CSS_SELECTOR, "p.error"), page
    assert driver.execute_script("return [window.innerWidth, window.innerHeight]") == [1366, 768]


def test_the_experiments_page_lists_each_with_its_runs(site):
    server, driver, repo = site
    open_page(driver, server.base + "/")
    rows = driver.find_elements(By.CSS_SELECTOR, "#experiments tbody tr")
    shown = {row.find_element(By.CSS_SELECTOR, "td").text: row.text for row in rows}
    for experiment in repo.experiments():
        assert experiment.name in shown
        assert f"{experiment.runs}" in shown[experiment.name]
    assert "6 completed" in shown[TUNER_EXPERIMENT]


def test_the_table_shows_the_databases_numbers_sorted(site):
    server, driver, repo = site
    open_page(driver, server.base + f"/experiment?name={SYNTHETIC}&metric=val_accuracy")
    best = repo.top_runs("val_accuracy", 3, experiment=SYNTHETIC)
    assert table_ids(driver)[:3] == [r.run.id for r in best]  # best first by default
    first = driver.find_element(By.CSS_SELECTOR, "#runs-table tbody tr")
    assert f"{best[0].value:.4f}" in first.text
    assert count_text(driver) == f"{len(repo.runs(SYNTHETIC))} runs"
    header = driver.find_element(By.CSS_SELECTOR, "#runs-table th[data-key='learning_rate']")
    header.click()
    by_lr = sorted(repo.runs(SYNTHETIC), key=lambda r: (r.hyperparameters["learning_rate"], r.id))
    wait_for(lambda: table_ids(driver)[:50] == [r.id for r in by_lr][:50], what="sorting")
    assert "sort=learning_rate" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, "#runs-table th[data-key='learning_rate']").click()
    wait_for(lambda: table_ids(driver)[0] == by_lr[-1].id, what="descending sort")


def test_a_filter_expression_changes_the_rows_and_the_url(site):
    server, driver, repo = site
    open_page(driver, server.base + f"/experiment?name={SYNTHETIC}")
    where = "optimizer == 'adam' and batch_size <= 32"
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys(where)
    driver.find_element(By.CSS_SELECTOR, "form.filter button").click()
    expected = {r.id for r in repo.runs(SYNTHETIC, where=where)}
    wait_for(lambda: count_text(driver) == f"{len(expected)} runs", what="the filter")
    assert set(table_ids(driver)) == expected
    assert "optimizer" in driver.current_url  # shareable
    open_page(driver, driver.current_url)  # the shared link shows the same rows
    wait_for(lambda: set(table_ids(driver)) == expected, what="the shared link")
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("nope > 3")
    driver.find_element(By.CSS_SELECTOR, "form.filter button").click()
    error = wait_for(lambda: driver.find_element(By.ID, "filter-error").text, what="an error")
    assert "nope" in error and "learning_rate" in error


def test_brushing_the_parallel_coordinates_narrows_the_table(site):
    server, driver, repo = site
    open_page(driver, server.base + f"/experiment?name={SYNTHETIC}")
    labels = driver.execute_script(
        "return document.getElementById('parallel').data[0].dimensions.map((d) => d.label)")
    axis = labels.index("learning_rate (log)")
    driver.execute_script(
        "Plotly.restyle('parallel', {[`dimensions[${arguments[0]}].constraintrange`]: "
        "[[-3, -2]]})", axis)
    inside = [r.id for r in repo.runs(SYNTHETIC)
              if 1e-3 <= r.hyperparameters["learning_rate"] <= 1e-2]
    total = len(repo.runs(SYNTHETIC))
    wait_for(lambda: count_text(driver) == f"{len(inside)} of {total} runs (brushed)",
             what="brushing")
    assert set(table_ids(driver)) == set(inside)
    driver.execute_script(
        "Plotly.restyle('parallel', {[`dimensions[${arguments[0]}].constraintrange`]: "
        "null})", axis)
    wait_for(lambda: count_text(driver) == f"{total} runs", what="clearing the brush")


def test_clicking_a_run_draws_its_curves(site):
    server, driver, repo = site
    open_page(driver, server.base + f"/experiment?name={SYNTHETIC}&metric=val_loss")
    row = driver.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")[7]
    run_id = int(row.get_attribute("data-run"))
    row.click()
    curves = "return document.getElementById('curves').data.map((t) => [t.meta, t.y])"
    traces = wait_for(lambda: {m: y for m, y in driver.execute_script(curves)}.get(run_id),
                      what="the run's curve")
    assert traces == pytest.approx([p.value for p in repo.history(run_id, "val_loss")])
    assert "runs=" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, f"#runs-table tr[data-run='{run_id}'] a").click()
    open_page(driver, driver.current_url)
    assert driver.find_element(By.ID, "run-title").text.startswith("run #")
    metrics = {p.get_attribute("data-metric")
               for p in driver.find_elements(By.CSS_SELECTOR, ".metric-plot")}
    assert metrics == {p.name for p in repo.history(run_id)}


def test_a_run_written_while_the_page_is_open_appears(site):
    server, driver, repo = site
    open_page(driver, server.base + f"/experiment?name={SYNTHETIC}")
    before = len(repo.runs(SYNTHETIC))
    assert count_text(driver) == f"{before} runs"
    key = repo.start_run(SYNTHETIC, name="arrived-live",
                         hyperparameters={"learning_rate": 0.5, "batch_size": 8,
                                          "optimizer": "adam", "epochs": 2})
    repo.log_epoch(key, 0, {"val_loss": 0.123, "val_accuracy": 0.999})
    wait_for(lambda: count_text(driver) == f"{before + 1} runs", timeout=10,
             what="the new run")
    top = driver.find_element(By.CSS_SELECTOR, "#runs-table tbody tr")
    assert "arrived-live" in top.text and "0.9990" in top.text and "running" in top.text
    repo.log_epoch(key, 1, {"val_loss": 0.1, "val_accuracy": 0.9995})
    repo.finish_run(key)
    wait_for(lambda: "completed" in driver.find_element(
        By.CSS_SELECTOR, "#runs-table tbody tr").text, timeout=10, what="its end")


def test_hostile_names_stay_text(site):
    server, driver, repo = site
    hostile = repo.runs(HOSTILE_EXPERIMENT)
    for path in (f"/experiment?name={HOSTILE_EXPERIMENT}&group_by=note&color=note", "/",
                 f"/run?id={hostile[0].id}", f"/run?id={hostile[1].id}"):
        open_page(driver, server.base + path)
        driver.execute_script("return new Promise((done) => setTimeout(done, 500))")
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
        assert driver.execute_script(
            "return document.querySelectorAll('img, script:not([src]), b').length") == 0
    open_page(driver, server.base + f"/run?id={hostile[1].id}")
    assert driver.find_element(By.ID, "run-error").text == "<img src=y onerror=alert(3)>"
    open_page(driver, server.base + f"/experiment?name={HOSTILE_EXPERIMENT}")
    assert HOSTILE_NAME in driver.find_element(By.ID, "runs-table").text
