"""How records reach the store without touching training: the journal on local disk
(``journal``, with its typed, checked ``records`` and the ``private`` folder rules), the outbox
whose background thread writes them and sends heartbeats (``outbox``, ``spool``,
``schema_check``, one per process from ``registry``), the ``deadletter`` files of records
refused for good, ``RunRecorder`` (a run's records, without Keras) and ``tracker sync``.

May import ``tracker.store`` and ``tracker.errors``; never Keras, pandas or the analysis code.
"""
