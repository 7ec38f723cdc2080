"""Renderings of a compliance document (the dict written as compliance.json) for people and CI."""
