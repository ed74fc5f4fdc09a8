"""Report stage: protected results -> text, JSON, CSV, Markdown."""
