"""What runs inside a training process: ``TrackingCallback``, the per-batch recorder,
``track(tuner)`` and its trial recorder, and the demo search.

With ``tracker.importers``, the only code that imports ``keras`` or ``keras_tuner`` (loaded
lazily from ``tracker``). May import ``tracker.capture`` and ``tracker.store``.
"""
