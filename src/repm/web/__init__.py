"""The dashboard (`repm serve`): a FastAPI app and its one static page."""
