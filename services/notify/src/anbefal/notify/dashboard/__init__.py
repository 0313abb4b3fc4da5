"""The dashboard: figures, trends and segments for the people who act on them."""
