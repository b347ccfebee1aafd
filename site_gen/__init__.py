"""site-gen: a static-site generator for annotated articles.

The pipeline flows one way: load (files -> model) -> resolve (anchors, topics,
links, backlinks) -> render (markdown-it tokens + Jinja2) -> write (atomic).
"""

__version__ = "0.1.0"
