"""Postmortems: documents generated from incidents' history, reviewed, published; action items."""
