"""Approved runbooks: four-eyes versions and signed HTTP runs from incidents."""
