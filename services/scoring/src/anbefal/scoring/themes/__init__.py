"""Themes: why customers and employees recommend or not. Comments are matched to a tenant's
named themes by the stems of their keywords (`catalogue.py`, `matching.py`; Danish and English
stems with `snowballstemmer`), and key phrases that set detractors apart from promoters are
proposed by a TF-IDF contrast (`contrast.py`). `summary.py` counts them, `store.py` keeps a
tenant's themes, `routes.py` serves both."""
