"""Wire formats: each protocol's messages, tools and options ↔ the chat model (``chat.py``), both ways."""
