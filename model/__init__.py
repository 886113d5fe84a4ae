"""A small Transformer text classifier that can be trained live and opened up.

Pure Python on torch and tokenizers; nothing here imports streamlit. The pieces:
``config`` (settings and presets), ``tokenizer``, ``data`` (built-in sets and user files),
``transformer`` (the model and its attention trace), ``trainer``, ``checkpoint``, ``inspect``
and ``cli`` (``python -m model``).
"""
