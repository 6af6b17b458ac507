"""The read side of the store's ``Repository``: runs, histories, ``best_by``, ``top_runs``,
the names an experiment recorded, and filters (``where=``) compiled to SQL.

Mixed into ``Repository``, which provides ``_read`` and ``_stale_before``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from . import filters, names, queries
from .filters import RunSelection, Where
from .records import ExperimentInfo, GroupBest, MetricPoint, RankedRun, RecordedNames, RunInfo


class QueryStore:
    """Reads: every query is a fixed number of set-based statements, filtered in SQL."""

    def experiments(self) -> list[ExperimentInfo]:
        """Every experiment, oldest first, with its number of runs."""
        return self._read(queries.experiments)

    def runs(
        self,
        experiment: str | None = None,
        *,
        where: Where = None,
        status: str | Sequence[str] | None = None,
        deleted: bool = False,
    ) -> list[RunInfo]:
        """Runs in id order, optionally of one experiment, with a given status, and passing the
        filter ``where`` (compiled to SQL): an expression such as ``"learning_rate < 1e-3 and
        best.val_accuracy > 0.9"``, or ``{name: value or [values]}`` (see the README's
        *Filters*). Unknown names raise ``UnknownNameError`` listing the recorded ones.

        ``status`` is ``running``, ``completed``, ``failed``, ``invalid`` or ``stale`` (a
        running run without a heartbeat for ``stale_after``: its process probably died).
        ``deleted=True`` lists the soft-deleted runs instead (hidden otherwise).

        >>> repo.runs("mnist", where="batch_size in (32, 64) and not (status == 'failed')")
        ... # doctest: +SKIP
        """
        before = self._stale_before()

        def work(conn: Connection) -> list[RunInfo]:
            found = None if experiment is None else queries.experiment(
                conn, experiment, deleted=None if deleted else False)
            selection = self._selection(conn, experiment, where, before, found=found,
                                        deleted=deleted)
            return queries.runs(conn, selection, status=status, stale_before=before)

        return self._read(work)

    def names(self, experiment: str | None = None) -> RecordedNames:
        """What ``experiment`` (default: every experiment) recorded: its hyperparameters with
        the kinds of value each holds, its metrics, and the run fields filters can name.

        >>> repo.names("mnist").hyperparameters                            # doctest: +SKIP
        {'batch_size': ('int',), 'learning_rate': ('float',), 'optimizer': ('str',)}
        """

        def work(conn: Connection) -> RecordedNames:
            return names.recorded_names(conn, self._experiment_id(conn, experiment), experiment)

        return self._read(work)

    def select_runs(
        self,
        conn: Connection,
        experiment: str | None = None,
        where: Where = None,
        *,
        modes: Mapping[str, str] | None = None,
    ) -> RunSelection:
        """The runs of ``experiment`` passing ``where``, as a ``RunSelection`` for queries of
        your own on the store's tables inside ``read`` (``tracker.analysis`` uses it).

        >>> repo.read(lambda conn: repo.select_runs(conn, "mnist", "lr < 0.01").run_ids())
        ... # doctest: +SKIP
        """
        return self._selection(conn, experiment, where, self._stale_before(), modes)

    def _selection(self, conn: Connection, experiment: str | None, where: Where,
                   before: dt.datetime | None, modes: Mapping[str, str] | None = None,
                   found: ExperimentInfo | None = None,
                   deleted: bool = False) -> RunSelection:
        if found is None and experiment is not None:
            found = queries.experiment(conn, experiment)
        modes = dict(modes or {})
        if found is not None and found.objective and found.direction:
            modes.setdefault(found.objective, found.direction)  # best.OBJECTIVE: no look-up
        return filters.select_runs(conn, found.id if found else None, experiment, where,
                                   stale_before=before, modes=modes, deleted=deleted)

    def _ranking(self, conn: Connection, experiment: str | None, metric: str | None,
                 mode: str | None) -> tuple[ExperimentInfo | None, str, str]:
        """The experiment, the metric (default: its objective) and the metric's direction."""
        found = None if experiment is None else queries.experiment(conn, experiment)
        experiment_id = None if found is None else found.id
        name = metric or (found.objective if found is not None and found.objective else
                          names.default_metric(conn, experiment_id, experiment))
        direction = names.metric_direction(conn, name, mode, experiment_id, experiment, found)
        return found, name, direction

    def run(self, ref: int | str) -> RunInfo:
        """One run, by id or by key; ``NotFoundError`` if there is none."""
        before = self._stale_before()
        return self._read(lambda conn: queries.run(conn, ref, before))

    def history(self, run: int | str, metric: str | None = None) -> list[MetricPoint]:
        """Every recorded metric value of a run (id or key), by metric name then epoch."""

        def work(conn: Connection) -> list[MetricPoint]:
            run_id = queries.run(conn, run).id if not isinstance(run, int) else run
            return queries.history(conn, run_id, metric)

        return self._read(work)

    def best_by(
        self,
        hyperparameter: str,
        metric: str | None = None,
        *,
        mode: str | None = None,
        experiment: str | None = None,
        over: str = "best",
        where: Where = None,
    ) -> list[GroupBest]:
        """One row per distinct value of ``hyperparameter``: the best ``metric`` (default: the
        experiment's objective) over every epoch of every run in the group, and which run and
        epoch reached it. NaN and +/-inf never win. ``mode`` ('max'/'min') defaults to the
        experiment's objective direction, else to the metric's name (losses and errors are
        minimised). ``over="last"`` ranks each run by its final epoch instead of its best one.
        ``where`` filters the runs first (as in ``runs``). A hyperparameter or metric that the
        experiment never recorded raises ``UnknownNameError``.

        >>> repo.best_by("batch_size", "val_accuracy", experiment="mnist")  # doctest: +SKIP
        [GroupBest(group=32, value=0.97, run_id=4, epoch=9, runs=5), ...]
        """

        queries.check_over(over)
        before = self._stale_before()

        def work(conn: Connection) -> list[GroupBest]:
            found, name, direction = self._ranking(conn, experiment, metric, mode)
            experiment_id = None if found is None else found.id
            selection = self._selection(conn, experiment, where, before, {name: direction},
                                        found)
            groups = queries.best_by(conn, hyperparameter, name, direction, selection, over)
            # Names are checked only when the answer looks empty: free when they exist.
            if not groups:
                names.check_hyperparameter(conn, hyperparameter, experiment_id, experiment)
            if all(group.value is None for group in groups):
                names.check_metric(conn, name, experiment_id, experiment)
            return groups

        return self._read(work)

    def top_runs(
        self,
        metric: str | None = None,
        k: int = 10,
        *,
        mode: str | None = None,
        experiment: str | None = None,
        over: str = "best",
        where: Where = None,
    ) -> list[RankedRun]:
        """The ``k`` runs with the best ``metric`` (default: the experiment's objective) at any
        epoch (``over="last"``: at their final epoch), best first, each with its
        hyperparameters, value and epoch; ``where`` filters the runs first (as in ``runs``).

        >>> repo.top_runs("val_accuracy", 5, where="optimizer == 'adam'")  # doctest: +SKIP
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        queries.check_over(over)

        before = self._stale_before()

        def work(conn: Connection) -> list[RankedRun]:
            found, name, direction = self._ranking(conn, experiment, metric, mode)
            experiment_id = None if found is None else found.id
            selection = self._selection(conn, experiment, where, before, {name: direction},
                                        found)
            ranked = queries.top_runs(conn, name, k, direction, selection, over, before)
            if not ranked:
                names.check_metric(conn, name, experiment_id, experiment)
            return ranked

        return self._read(work)

    def direction(self, metric: str, *, mode: str | None = None, experiment: str | None = None):
        """Whether a higher (``max``) or lower (``min``) ``metric`` is better here."""
        return self._read(lambda conn: self._direction(conn, metric, mode, experiment))

    def default_metric(self, experiment: str | None = None) -> str:
        """The metric questions rank by when none is given: the experiment's objective
        (``MetricRequired`` listing the recorded metrics when it has none)."""

        def work(conn: Connection) -> str:
            return names.default_metric(conn, self._experiment_id(conn, experiment), experiment)

        return self._read(work)

    def _experiment_id(self, conn: Connection, name: str | None) -> int | None:
        return None if name is None else queries.experiment(conn, name).id

    def _direction(
        self, conn: Connection, metric: str, mode: str | None, experiment: str | None
    ) -> str:
        return self._ranking(conn, experiment, metric, mode)[2]
