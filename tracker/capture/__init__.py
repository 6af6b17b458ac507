"""How records reach the store without touching training: the journal on local disk
(``journal``), the outbox whose background thread writes them and sends heartbeats
(``outbox``), ``RunRecorder`` (a run's records, without Keras) and ``tracker sync``.

May import ``tracker.store`` and ``tracker.errors``; never Keras, pandas or the analysis code.
"""
