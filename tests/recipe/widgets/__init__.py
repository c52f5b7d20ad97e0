"""Widgets: named things, each made from one item."""
