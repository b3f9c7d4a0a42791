"""A small Streamlit web app over :mod:`edge_runtime`: upload or record a clip, see its emotion.

Start it with ``python -m webapp``; it serves on
http://127.0.0.1:8501 by default. All audio reading, features and inference
come from :mod:`edge_runtime`; this package only lays them out on a page.
"""
