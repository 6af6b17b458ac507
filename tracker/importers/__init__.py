"""Other tools' files into the store: keras-tuner project folders (``keras_tuner``) and
TensorBoard event files (``tensorboard``). A folder is read as untrusted data.

May import ``tracker.store`` (and TensorBoard's reader, lazily).
"""
