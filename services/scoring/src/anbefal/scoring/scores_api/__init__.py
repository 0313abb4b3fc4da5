"""The scores API's parts: what a request asks for (`request.py`) and how the answer is
written (`output.py`, JSON rows and the CSV export); the routes are in `scoring/routes.py`."""
