"""Store: the database of sources, captures, articles and versions."""

from newsvault.store.db import AddResult, SourceState, Store

__all__ = ["AddResult", "SourceState", "Store"]
