"""The template's own tests: every variant, the hooks, and odd input."""
